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
            self.assertEqual(stack_env.stack_env(tomllib.load(f)), ("veloconnect-directory-dev", "eu-west-1"))

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
