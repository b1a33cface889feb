#!/usr/bin/env python3
"""Runs every ```sh block of a document (--doc, default
docs/DEPLOYMENT_PIPELINE_DOCUMENTATION.md; also docs/OPERATIONS.md), in
document order, in one temporary directory that links the repository's
models/, config/, scripts/, deploy/ and container files, with the real binary
on PATH as `spatial`. Each block runs under `bash -euo pipefail` in its own
process group (killed afterwards, so a server a block left behind cannot
outlive it) and must exit 0. ```text blocks are illustrative and not run.

  doc_test.py --source-dir DIR --binary build/release/cli/spatial \
      [--doc docs/OPERATIONS.md --min-sh-blocks 4]
"""

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

ARGS = None
LINKED = ["models", "config", "scripts", "deploy", "Dockerfile.spatial",
          "docker-compose.yml", "Makefile"]
BLOCK_TIMEOUT_S = 60
FENCE = re.compile(r"^```(\w*)\s*$")


def blocks(text):
    """[(first line number, language, code)] of the fenced blocks."""
    out, lang, start, code = [], None, 0, []
    for n, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if lang is None and m:
            lang, start, code = m.group(1), n + 1, []
        elif lang is not None and line.strip() == "```":
            out.append((start, lang, "\n".join(code) + "\n"))
            lang = None
        elif lang is not None:
            code.append(line)
    if lang is not None:
        raise ValueError(f"unterminated block starting at line {start - 1}")
    return out


def workspace(tmp):
    bin_dir = os.path.join(tmp, "bin")
    os.makedirs(bin_dir)
    os.symlink(ARGS.binary, os.path.join(bin_dir, "spatial"))
    work = os.path.join(tmp, "work")
    os.makedirs(work)
    for name in LINKED:
        os.symlink(os.path.join(ARGS.source_dir, name),
                   os.path.join(work, name))
    env = dict(os.environ)
    env["PATH"] = bin_dir + os.pathsep + env["PATH"]
    for var in ("SPATIAL_REGISTRY", "SPATIAL_CONFIG", "SPATIAL_MODEL_PATH",
                "SPATIAL_SIGNING_KEY_FILE", "ENVIRONMENT", "API_PORT"):
        env.pop(var, None)
    return work, env


def run_block(code, work, env):
    """(exit code, output) of one block; its process group is killed after
    bash exits (a background server must not outlive its block)."""
    script = ("trap 'echo \"doc_test: failed: $BASH_COMMAND\" >&2' ERR\n" +
              code)
    with tempfile.TemporaryFile("w+") as log:
        p = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script],
                             cwd=work, env=env, stdout=log,
                             stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
        try:
            rc = p.wait(timeout=BLOCK_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            rc = -1
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        p.wait()
        log.seek(0)
        out = log.read()
    if rc == -1:
        out += f"\ndoc_test: timed out after {BLOCK_TIMEOUT_S} s"
    return rc, out


class DocTest(unittest.TestCase):
    def test_fences_parse(self):
        found = blocks("a\n```sh\necho 1\n```\n```text\nx\n```\n")
        self.assertEqual(found, [(3, "sh", "echo 1\n"), (6, "text", "x\n")])
        with self.assertRaises(ValueError):
            blocks("```sh\necho 1\n")

    def test_a_failing_command_fails_its_block(self):
        with tempfile.TemporaryDirectory() as tmp:
            work, env = workspace(tmp)
            rc, out = run_block("spatial --version\nspatial model nope\n",
                                work, env)
            self.assertNotEqual(rc, 0)
            self.assertIn("failed: spatial model nope", out)
            rc, _ = run_block("spatial check --dry-run | cat\nfalse | cat\n",
                              work, env)
            self.assertNotEqual(rc, 0)
            # A background child left running does not hold the block open.
            started = time.monotonic()
            rc, _ = run_block("sleep 300 &\nfalse\n", work, env)
            self.assertNotEqual(rc, 0)
            self.assertLess(time.monotonic() - started, 10)

    def test_every_sh_block_runs(self):
        doc = ARGS.doc
        with open(os.path.join(ARGS.source_dir, doc)) as f:
            found = blocks(f.read())
        sh = [b for b in found if b[1] == "sh"]
        self.assertGreaterEqual(len(sh), ARGS.min_sh_blocks,
                                "the doc shows few commands")
        langs = {b[1] for b in found} - {"sh", "text", "json", "yaml"}
        self.assertEqual(langs, set(), "blocks must be sh (run) or text")
        with tempfile.TemporaryDirectory() as tmp:
            work, env = workspace(tmp)
            for line, _, code in sh:
                started = time.monotonic()
                rc, out = run_block(code, work, env)
                took = time.monotonic() - started
                print(f"{doc}:{line}: exit {rc} in {took:.1f} s",
                      file=sys.stderr)
                self.assertEqual(rc, 0, f"{doc}:{line}: block failed:\n"
                                 f"{code}\n--- output ---\n{out[-4000:]}")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--source-dir", required=True)
    p.add_argument("--binary", required=True)
    p.add_argument("--doc", default="docs/DEPLOYMENT_PIPELINE_DOCUMENTATION.md",
                   help="the document, relative to --source-dir")
    p.add_argument("--min-sh-blocks", type=int, default=10,
                   help="fewer ```sh blocks than this fails the test")
    ARGS, rest = p.parse_known_args()
    ARGS.source_dir = os.path.abspath(ARGS.source_dir)
    ARGS.binary = os.path.abspath(ARGS.binary)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)


if __name__ == "__main__":
    main()
