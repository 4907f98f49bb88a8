"""Run a composite GitHub Action's steps locally, the way the runner does, for tests/it/distribution.rs.

Usage: runner.py ACTION_DIR WORKDIR [NAME=VALUE ...]   (inputs; unknown names are an error)

For each step of action.yml: a `uses:` step is skipped and listed (it needs GitHub); a `run:` step
has the `${{ }}` expressions of its `env` and `run` evaluated (inputs with their defaults,
steps.ID.outputs.NAME, github.action_path, runner.os/arch/temp; any other expression is an error,
so the test notices an action that needs more of GitHub than this), then runs as
`bash --noprofile --norc -eo pipefail FILE` with its own $GITHUB_OUTPUT file, the shared
$GITHUB_PATH and $GITHUB_ENV files, and $RUNNER_TEMP. Like the real runner, composite actions
get no INPUT_* variables unless a step's `env` maps them. Prints one JSON object: the action's
outputs, the skipped steps and each step's exit code; exits 1 when a step fails.
"""

import json
import os
import re
import subprocess
import sys

import yaml

EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def main():
    action_dir, workdir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with open(os.path.join(action_dir, "action.yml")) as f:
        action = yaml.safe_load(f)
    assert action["runs"]["using"] == "composite", "only composite actions"
    declared = action.get("inputs", {})
    inputs = {name: str(spec.get("default", "")) for name, spec in declared.items()}
    for arg in sys.argv[3:]:
        name, _, value = arg.partition("=")
        if name not in declared:
            sys.exit(f"runner.py: the action has no input {name!r}")
        inputs[name] = value

    temp = os.path.join(workdir, "runner-temp")
    os.makedirs(temp, exist_ok=True)
    files = {k: os.path.join(workdir, k.lower()) for k in ("GITHUB_PATH", "GITHUB_ENV")}
    for path in files.values():
        open(path, "w").close()
    steps = {}
    context = {
        "github.action_path": action_dir,
        "runner.os": "Linux",
        "runner.arch": "X64",
        "runner.temp": temp,
    }

    def evaluate(text):
        def one(m):
            expr = m.group(1)
            if expr.startswith("inputs."):
                return inputs[expr[len("inputs."):]]
            parts = expr.split(".")
            if len(parts) == 4 and parts[0] == "steps" and parts[2] == "outputs":
                return steps.get(parts[1], {}).get(parts[3], "")
            if expr in context:
                return context[expr]
            raise SystemExit(f"runner.py: unsupported expression ${{{{ {expr} }}}}")
        return EXPR.sub(one, str(text))

    result = {"skipped": [], "steps": []}
    for i, step in enumerate(action["runs"]["steps"]):
        if "uses" in step:
            result["skipped"].append(step["uses"])
            continue
        assert step.get("shell") == "bash", "every run step says shell: bash"
        env = dict(os.environ)
        env.update({"RUNNER_TEMP": temp, "GITHUB_ACTION_PATH": action_dir, **files})
        extra_path = [p for p in open(files["GITHUB_PATH"]).read().splitlines() if p]
        env["PATH"] = os.pathsep.join(list(reversed(extra_path)) + [env["PATH"]])
        for line in open(files["GITHUB_ENV"]).read().splitlines():
            k, _, v = line.partition("=")
            env[k] = v
        for k, v in (step.get("env") or {}).items():
            env[k] = evaluate(v)
        out = os.path.join(workdir, f"output-{i}")
        open(out, "w").close()
        env["GITHUB_OUTPUT"] = out
        script = os.path.join(workdir, f"step-{i}.sh")
        with open(script, "w") as f:
            f.write(evaluate(step["run"]))
        code = subprocess.call(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", script],
            cwd=workdir,
            env=env,
            stdout=sys.stderr,  # the step's log; stdout is this runner's JSON alone
        )
        result["steps"].append({"name": step.get("name", ""), "code": code})
        outputs = {}
        for line in open(out).read().splitlines():
            k, _, v = line.partition("=")
            outputs[k] = v
        steps[step.get("id", f"step{i}")] = outputs
        if code != 0:
            print(json.dumps(result))
            sys.exit(1)
    result["outputs"] = {
        name: evaluate(spec["value"]) for name, spec in action.get("outputs", {}).items()
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
