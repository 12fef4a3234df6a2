"""python3 -m unittest infra/test_stack_env.py (CI runs it with the template checks)."""
import importlib.util
import pathlib
import unittest

spec = importlib.util.spec_from_file_location("stack_env", pathlib.Path(__file__).parent / "stack-env.py")
stack_env = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stack_env)


class StackEnv(unittest.TestCase):
    def test_the_repositorys_samconfig_names_a_stack_and_a_region(self):
        import tomllib
        root = pathlib.Path(__file__).resolve().parent.parent
        with open(root / "samconfig.toml", "rb") as f:
            config = tomllib.load(f)
        self.assertEqual(stack_env.stack_env(config), ("veloconnect-directory-dev", "eu-west-1"))
        self.assertEqual(stack_env.stack_env(config, "prod"), ("veloconnect-directory-prod", "eu-west-1"))

    def test_prod_differs_from_dev_only_in_its_parameters_and_names(self):
        import tomllib
        root = pathlib.Path(__file__).resolve().parent.parent
        with open(root / "samconfig.toml", "rb") as f:
            config = tomllib.load(f)
        dev, prod = config["default"], config["prod"]
        self.assertEqual(dev["build"], prod["build"])
        self.assertEqual(dev["validate"], prod["validate"])
        params = lambda env: dict(kv.split("=", 1) for kv in env["deploy"]["parameters"]["parameter_overrides"].split())
        self.assertEqual(params(prod)["Stage"], "prod")
        self.assertNotEqual(params(dev)["Stage"], params(prod)["Stage"])
        self.assertTrue(params(prod).get("AlarmEmail"), "production alarms reach someone")
        without = lambda env, keys: {k: v for k, v in env["deploy"]["parameters"].items() if k not in keys}
        self.assertEqual(without(dev, {"parameter_overrides"}), without(prod, {"parameter_overrides"}))

    def test_what_sam_deploy_guided_saves_wins_over_the_global_name(self):
        config = {"default": {"global": {"parameters": {"stack_name": "veloconnect-directory-dev"}},
                              "deploy": {"parameters": {"stack_name": "acme-directory", "region": "ap-southeast-2"}}},
                  "prod": {"deploy": {"parameters": {"stack_name": "prod-dir", "region": "us-east-2"}}}}
        self.assertEqual(stack_env.stack_env(config), ("acme-directory", "ap-southeast-2"))
        self.assertEqual(stack_env.stack_env(config, "prod"), ("prod-dir", "us-east-2"))

    def test_a_samconfig_without_a_region_says_what_to_run(self):
        with self.assertRaises(SystemExit) as e:
            stack_env.stack_env({"default": {"global": {"parameters": {"stack_name": "x"}}}})
        self.assertIn("sam deploy --guided", str(e.exception))


if __name__ == "__main__":
    unittest.main()
