#!/usr/bin/env python3
"""The stack name and region `sam deploy` uses, from samconfig.toml, as shell variables for the
README's deploy steps (every `aws` command there takes them, so a stack with another name or in
another region works step by step):

    eval "$(python3 infra/stack-env.py)"        # sets STACK and AWS_REGION
    python3 infra/stack-env.py --config-env prod # another [env] of samconfig.toml

`sam deploy --guided` saves the name and region you choose into samconfig.toml, under
`[<env>.deploy.parameters]`; that wins over `[<env>.global.parameters]`, as it does for sam.
"""
import argparse
import pathlib
import shlex
import sys
import tomllib


def stack_env(config, env="default"):
    section = config.get(env, {})
    found = {}
    for command in ("global", "deploy"):  # later wins, as in sam
        params = section.get(command, {}).get("parameters", {})
        for key in ("stack_name", "region"):
            if key in params:
                found[key] = params[key]
    missing = [k for k in ("stack_name", "region") if k not in found]
    if missing:
        raise SystemExit(f"samconfig.toml [{env}] has no {' or '.join(missing)}: run sam deploy --guided first")
    return found["stack_name"], found["region"]


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--config-file", default=str(pathlib.Path(__file__).resolve().parent.parent / "samconfig.toml"))
    ap.add_argument("--config-env", default="default")
    args = ap.parse_args(argv)
    with open(args.config_file, "rb") as f:
        stack, region = stack_env(tomllib.load(f), args.config_env)
    print(f"export STACK={shlex.quote(stack)} AWS_REGION={shlex.quote(region)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
