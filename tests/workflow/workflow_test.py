#!/usr/bin/env python3
"""Checks .github/workflows/spatial-deployment-pipeline.yml: yamllint-clean,
the triggers and inputs of issue #6, one job per pipeline stage whose
`needs:` are exactly the stage's dependencies (read from
src/pipeline/stages.cc, names cross-checked with `spatial pipeline run
--help`), and every `run:` line calls an existing script, Make target, CMake
preset or `spatial` subcommand with flags its --help lists (the real binary).
Self-tests break a copy of the workflow and expect the checker to say so.

  workflow_test.py --source-dir DIR --binary build/release/cli/spatial
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import unittest

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from commands import Checker  # noqa: E402

ARGS = None
WORKFLOW = ".github/workflows/spatial-deployment-pipeline.yml"
YAMLLINT_CONFIG = ("{extends: default, rules: {line-length: {max: 100}, "
                   "document-start: disable}}")
ENVIRONMENTS = ["development", "staging", "production"]
PINNED = re.compile(r"^[\w.-]+/[\w.-]+@v\d+$")


def stage_dependencies(source_dir):
    """{stage: set(deps)} from MakeStages in src/pipeline/stages.cc."""
    with open(os.path.join(source_dir, "src/pipeline/stages.cc")) as f:
        text = f.read()
    names = dict(re.findall(
        r'constexpr const char\* (k\w+) = "([a-z-]+)";', text))
    body = text[text.index("std::vector<Stage> MakeStages("):]
    deps = {}
    for const, dep_list in re.findall(r"stage\(\s*(k\w+),\s*\{([^}]*)\}",
                                      body):
        deps[names[const]] = {names[d.strip()]
                              for d in dep_list.split(",") if d.strip()}
    return deps


def triggers(wf):
    # PyYAML reads a bare `on:` key as True (YAML 1.1).
    return wf.get("on", wf.get(True)) or {}


def stage_of_job(job):
    """The --stages list of the job's pipeline command, [] if none."""
    for step in job.get("steps", []):
        m = re.search(r"--stages[ =]+([a-z0-9,-]+)", step.get("run", ""))
        if m:
            return m.group(1).split(",")
    return []


def env_variants(wf):
    """Values of the workflow env for each combination of the inputs."""
    env = dict(wf.get("env") or {})
    problems, variants = [], []
    if "inputs.environment" not in str(env.get("SPATIAL_ENVIRONMENT")):
        problems.append("env SPATIAL_ENVIRONMENT does not come from "
                        "inputs.environment")
    if "inputs.skip_tests" not in str(env.get("SKIP_TESTS_FLAG")):
        problems.append("env SKIP_TESTS_FLAG does not come from "
                        "inputs.skip_tests")
    for e in ENVIRONMENTS:
        for flag in ("", "--skip-tests"):
            v = {k: str(val) for k, val in env.items()}
            v.update(SPATIAL_ENVIRONMENT=e, SKIP_TESTS_FLAG=flag)
            variants.append(v)
    return problems, variants


def check_triggers(wf):
    problems = []
    on = triggers(wf)
    if "main" not in ((on.get("push") or {}).get("branches") or []):
        problems.append("no push trigger on main")
    if "pull_request" not in on:
        problems.append("no pull_request trigger")
    crons = [s.get("cron", "") for s in on.get("schedule") or []]
    if not any(re.match(r"^\d+ \d+ \* \* \*$", c) for c in crons):
        problems.append(f"no daily schedule (crons: {crons})")
    inputs = ((on.get("workflow_dispatch") or {}).get("inputs")) or {}
    env = inputs.get("environment") or {}
    if (env.get("type") != "choice" or env.get("options") != ENVIRONMENTS
            or env.get("default") != "development"):
        problems.append(f"workflow_dispatch input environment is {env}")
    skip = inputs.get("skip_tests") or {}
    if skip.get("type") != "boolean":
        problems.append(f"workflow_dispatch input skip_tests is {skip}")
    return problems


def check_jobs(wf, checker, deps):
    problems = []
    jobs = wf.get("jobs") or {}
    names = checker.stage_names()
    if sorted(names) != sorted(deps):
        problems.append(f"stages in --help {names} != stages.cc {sorted(deps)}")
    for stage, want in deps.items():
        job = jobs.get(stage)
        if job is None:
            problems.append(f"no job for stage {stage}")
            continue
        needs = job.get("needs", [])
        needs = {needs} if isinstance(needs, str) else set(needs)
        if needs != want:
            problems.append(f"job {stage} needs {sorted(needs)}, the stage "
                            f"depends on {sorted(want)}")
        selected = stage_of_job(job)
        if stage not in selected:
            problems.append(f"job {stage} does not run its stage "
                            f"(--stages {selected})")
        # Extra stages only to rebuild what the job's own stage depends on.
        extra = set(selected) - {stage} - want
        if extra:
            problems.append(f"job {stage} also runs {sorted(extra)}")
        runs = " ".join(s.get("run", "") for s in job.get("steps", []))
        if '--environment "$SPATIAL_ENVIRONMENT"' not in runs:
            problems.append(f"job {stage} ignores the environment input")
        if stage in ("spatial-tests", "multi-environment-testing") and \
                "$SKIP_TESTS_FLAG" not in runs:
            problems.append(f"job {stage} ignores the skip_tests input")
        uses = [s.get("uses", "") for s in job.get("steps", [])]
        if not any(u.startswith("actions/checkout@") for u in uses):
            problems.append(f"job {stage} does not check out the repo")
        uploads = [s for s in job.get("steps", [])
                   if s.get("uses", "").startswith("actions/upload-artifact@")]
        if not any((s.get("with") or {}).get("path") ==
                   "output/spatial_pipeline_runs" for s in uploads):
            problems.append(f"job {stage} uploads no pipeline output")
    for name, job in jobs.items():
        for step in job.get("steps", []):
            u = step.get("uses")
            if u and not PINNED.match(u):
                problems.append(f"job {name}: action {u} not pinned to @vN")
    return problems


def check_runs(wf, checker):
    problems, variants = env_variants(wf)
    for name, job in (wf.get("jobs") or {}).items():
        for n, step in enumerate(job.get("steps", []), 1):
            if "run" not in step:
                continue
            where = f"job {name} step {n}"
            for env in variants:
                found = checker.check_script_text(step["run"], env, where)
                problems += [p for p in found if p not in problems]
    return problems


def yamllint(path):
    r = subprocess.run(["yamllint", "--strict", "-f", "parsable", "-d",
                        YAMLLINT_CONFIG, path], capture_output=True, text=True)
    return [] if r.returncode == 0 else [f"yamllint: {r.stdout}{r.stderr}"]


def problems_of(path):
    checker = Checker(ARGS.source_dir, ARGS.binary)
    problems = yamllint(path)
    with open(path) as f:
        wf = yaml.safe_load(f)
    if not isinstance(wf, dict):
        return problems + ["not a YAML mapping"]
    deps = stage_dependencies(ARGS.source_dir)
    return (problems + check_triggers(wf) + check_jobs(wf, checker, deps) +
            check_runs(wf, checker))


class WorkflowTest(unittest.TestCase):
    def test_dependencies_read_from_source(self):
        deps = stage_dependencies(ARGS.source_dir)
        self.assertEqual(len(deps), 8)
        self.assertEqual(deps["environment-validation"], set())
        self.assertIn("security-scanning", deps["deployment"])

    def test_workflow_is_consistent(self):
        self.assertEqual(problems_of(os.path.join(ARGS.source_dir, WORKFLOW)),
                         [])


class SelfTest(unittest.TestCase):
    """Each break of a copy of the workflow must be reported."""

    def broken(self, old, new, expect):
        with open(os.path.join(ARGS.source_dir, WORKFLOW)) as f:
            text = f.read()
        self.assertIn(old, text)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "workflow.yml")
            with open(path, "w") as f:
                f.write(text.replace(old, new, 1))
            found = problems_of(path)
        self.assertTrue(any(expect in p for p in found),
                        f"expected '{expect}' in {found}")

    def test_missing_needs_edge(self):
        self.broken("      - security-scanning\n", "",
                    "job deployment needs")

    def test_extra_needs_edge(self):
        self.broken("    needs: [model-validation]\n",
                    "    needs: [model-validation, container-build-test]\n",
                    "the stage depends on")

    def test_unknown_flag(self):
        self.broken("--output output/spatial_pipeline_runs\n",
                    "--output output/spatial_pipeline_runs --frobnicate\n",
                    "has no flag --frobnicate")

    def test_unknown_subcommand(self):
        self.broken("cli/spatial pipeline run", "cli/spatial pipeline launch",
                    "has no subcommand 'launch'")

    def test_missing_script(self):
        self.broken("bash scripts/install-deps.sh",
                    "bash scripts/ci/enhanced_spatial_deployment_tests.py",
                    "does not exist")

    def test_unknown_stage(self):
        self.broken("--stages security-scanning",
                    "--stages security-scan", "unknown stage")

    def test_unknown_make_target(self):
        self.broken("run: make container-test", "run: make docker-test",
                    "no target 'docker-test'")

    def test_unknown_command(self):
        self.broken("bash scripts/install-deps.sh",
                    "python scripts/ci/test_deployment_environments.py",
                    "unknown command 'python'")

    def test_input_dropped(self):
        self.broken("      skip_tests:\n", "      skip_test:\n",
                    "input skip_tests")

    def test_expression_in_script(self):
        self.broken('"$SPATIAL_ENVIRONMENT"', "${{ inputs.environment }}",
                    "expression inside the script")

    def test_yamllint(self):
        self.broken("  pull_request:\n", "  pull_request:   \n", "yamllint")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--source-dir", required=True)
    p.add_argument("--binary", required=True)
    ARGS, rest = p.parse_known_args()
    ARGS.source_dir = os.path.abspath(ARGS.source_dir)
    ARGS.binary = os.path.abspath(ARGS.binary)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
