#!/usr/bin/env python3
"""Checks .github/workflows/spatial-deployment-pipeline.yml: yamllint-clean,
the triggers and inputs of issue #6, one job per pipeline stage whose
`needs:` are exactly the stage's dependencies (read from
src/pipeline/stages.cc, names cross-checked with `spatial pipeline run
--help`), and every `run:` line calls an existing script, Make target, CMake
preset or `spatial` subcommand with flags its --help lists (the real binary).
The deployment job takes the team registry and the signing key from secrets,
through a step's env only, never on a pull request, and rehearses without
them; RehearsalTest runs its command both ways (a throwaway registry, then a
SQLite file standing in for the team registry with a signing key).
Self-tests break a copy of the workflow and expect the checker to say so.

  workflow_test.py --source-dir DIR --binary build/release/cli/spatial
"""

import argparse
import glob
import json
import os
import re
import shlex
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
            step_env = {k: "" for k in (step.get("env") or {})}
            for env in variants:
                found = checker.check_script_text(step["run"],
                                                  {**env, **step_env}, where)
                problems += [p for p in found if p not in problems]
    return problems


DEPLOY_SCRIPT = "scripts/ci/run_spatial_pipeline.sh"
# The deployment step's env: name -> the secret it must come from (None: a
# repository variable or anything but a secret).
DEPLOY_ENV = {"SPATIAL_REGISTRY": "secrets.SPATIAL_REGISTRY",
              "SPATIAL_SIGNING_KEY": "secrets.SPATIAL_SIGNING_KEY",
              "SPATIAL_TRUSTED_KEY": None, "SPATIAL_STORE": None,
              "SPATIAL_SERVERS": None}
PR_GUARD = "github.event_name != 'pull_request'"


def deploy_step(wf):
    """The deployment job's step that runs the pipeline script, or None."""
    job = (wf.get("jobs") or {}).get("deployment") or {}
    for step in job.get("steps", []):
        if DEPLOY_SCRIPT in step.get("run", ""):
            return step
    return None


def check_deployment(wf):
    """Secrets only in the deployment step's env, guarded against pull
    requests; the rehearsal branch is there."""
    step = deploy_step(wf)
    if step is None:
        return [f"job deployment does not run {DEPLOY_SCRIPT}"]
    problems = []
    env = step.get("env") or {}
    for name, secret in DEPLOY_ENV.items():
        value = str(env.get(name, ""))
        if name not in env:
            problems.append(f"job deployment: env {name} is not set")
        elif secret and secret not in value:
            problems.append(f"job deployment: env {name} does not come from "
                            f"{secret}")
        elif secret and PR_GUARD not in value:
            problems.append(f"job deployment: env {name} reaches pull "
                            f"requests (no {PR_GUARD})")
    if "--rehearse-without-registry" not in step["run"]:
        problems.append("job deployment: no rehearsal without the registry "
                        "(--rehearse-without-registry)")
    # A secret anywhere else (the workflow env, another job or step) reaches
    # code that has no business with it.
    elsewhere = dict(wf)
    jobs = dict(elsewhere.pop("jobs", None) or {})
    text = yaml.safe_dump(elsewhere)
    for name, job in jobs.items():
        job = dict(job)
        steps = [s for s in job.pop("steps", []) if s is not step]
        text += yaml.safe_dump(job) + yaml.safe_dump(steps)
    text += yaml.safe_dump({k: v for k, v in step.items() if k != "env"})
    for secret in sorted(set(re.findall(r"secrets\.\w+", text))):
        problems.append(f"{secret} is used outside the deployment step's env")
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
            check_runs(wf, checker) + check_deployment(wf))


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

    def test_secret_pasted_into_the_script(self):
        self.broken("--rehearse-without-registry\n",
                    "--rehearse-without-registry "
                    "${{ secrets.SPATIAL_REGISTRY }}\n",
                    "expression inside the script")

    def test_secret_in_the_workflow_env(self):
        self.broken("  SKIP_TESTS_FLAG:",
                    "  SPATIAL_SIGNING_KEY: ${{ secrets.SPATIAL_SIGNING_KEY }}"
                    "\n  SKIP_TESTS_FLAG:",
                    "secrets.SPATIAL_SIGNING_KEY is used outside")

    def test_secret_given_to_pull_requests(self):
        self.broken("${{ github.event_name != 'pull_request' && "
                    "secrets.SPATIAL_REGISTRY || '' }}",
                    "${{ secrets.SPATIAL_REGISTRY }}",
                    "env SPATIAL_REGISTRY reaches pull requests")

    def test_registry_not_from_the_secret(self):
        self.broken("secrets.SPATIAL_REGISTRY ||", "vars.SPATIAL_REGISTRY ||",
                    "env SPATIAL_REGISTRY does not come from")

    def test_rehearsal_branch_dropped(self):
        self.broken("          --rehearse-without-registry\n", "",
                    "no rehearsal without the registry")


class RehearsalTest(unittest.TestCase):
    """Runs the deployment step's command as the workflow does: without the
    secrets (a rehearsal) and with them (a SQLite file stands in for the team
    registry), and reads what it reports."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def run_step(self, env):
        """(process, summary text, pipeline report) of the workflow's
        deployment command with `env` as the step's env."""
        with open(os.path.join(ARGS.source_dir, WORKFLOW)) as f:
            step = deploy_step(yaml.safe_load(f))
        words = shlex.split(step["run"].replace(
            '"$SPATIAL_ENVIRONMENT"', "development"))
        # The workflow's command, with this build's binary, a temp output
        # and a small canary.
        words[words.index("--spatial") + 1] = ARGS.binary
        out = os.path.join(self.tmp.name, "runs")
        words[words.index("--output") + 1] = out
        words += ["--canary-per-class", "1"]
        summary = os.path.join(self.tmp.name, "summary.md")
        full = {k: v for k, v in os.environ.items()
                if not k.startswith(("SPATIAL_", "GITHUB_"))}
        full.update(env, GITHUB_STEP_SUMMARY=summary)
        r = subprocess.run(words, cwd=ARGS.source_dir, env=full, text=True,
                           capture_output=True, timeout=240)
        reports = glob.glob(os.path.join(out, "*/reports/pipeline_report.json"))
        report = {}
        if reports:
            with open(reports[0]) as f:
                report = json.load(f)
        text = open(summary).read() if os.path.exists(summary) else ""
        return r, text, report, out

    @staticmethod
    def deployment(report):
        return next((s for s in report.get("stages", [])
                     if s["name"] == "deployment"), {})

    def test_without_secrets_it_is_a_rehearsal(self):
        registry = os.path.join(ARGS.source_dir, "var/registry.db")
        before = os.path.getmtime(registry) if os.path.exists(registry) \
            else None
        r, summary, report, _ = self.run_step(
            {"SPATIAL_REGISTRY": "", "SPATIAL_SIGNING_KEY": "",
             "SPATIAL_STORE": "", "SPATIAL_SERVERS": ""})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("REHEARSAL", r.stdout)
        self.assertIn("## Deployment REHEARSAL (development)", summary)
        self.assertIn("throwaway registry", summary)
        self.assertEqual(report.get("deployment_mode"), "rehearsal", report)
        stage = self.deployment(report)
        self.assertEqual(stage.get("status"), "passed", report)
        self.assertTrue(stage["reason"].startswith("REHEARSAL"), stage)
        # The registry a local user keeps was not touched.
        after = os.path.getmtime(registry) if os.path.exists(registry) \
            else None
        self.assertEqual(before, after)

    def test_with_secrets_it_deploys_signed_and_never_shows_the_key(self):
        keys = os.path.join(self.tmp.name, "keys")
        subprocess.run([ARGS.binary, "keys", "generate", "--out", keys],
                       check=True, capture_output=True)
        with open(os.path.join(keys, "signing.key")) as f:
            key = f.read()
        team = os.path.join(self.tmp.name, "team", "registry.db")
        r, summary, report, out = self.run_step(
            {"SPATIAL_REGISTRY": team, "SPATIAL_SIGNING_KEY": key,
             "SPATIAL_STORE": os.path.join(self.tmp.name, "team", "store"),
             "SPATIAL_SERVERS": ""})
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("## Deployment to development", summary)
        self.assertNotIn("REHEARSAL", summary + r.stdout)
        self.assertIn("signed with the key", summary)
        self.assertEqual(report.get("deployment_mode"), "deployment", report)
        self.assertEqual(self.deployment(report).get("status"), "passed")
        version = report["version_id"]
        # The version in the team registry carries the key's signature.
        v = subprocess.run(
            [ARGS.binary, "model", "--registry", team, "--store",
             os.path.join(self.tmp.name, "team", "store"), "verify", version,
             "--public-key", os.path.join(keys, "signing.pub")],
            capture_output=True, text=True)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        # Neither the key nor a line of it shows anywhere.
        secret = key.strip().splitlines()[-1]
        shown = r.stdout + r.stderr + summary
        for path in glob.glob(os.path.join(out, "**"), recursive=True):
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    shown += f.read().decode("utf-8", "replace")
        self.assertNotIn(secret, shown)


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
