"""Static checks of shell command lines against the repository and the real
`spatial` binary: the script exists, the subcommand exists, every flag is one
its --help lists. Used by workflow_test.py on the workflow's `run:` lines.
"""

import functools
import json
import os
import re
import shlex
import subprocess

SPATIAL_NAMES = ("spatial", "build/release/cli/spatial")
# Scripts that hand the arguments after `--` to a spatial subcommand.
PASS_THROUGH = {"scripts/ci/run_spatial_pipeline.sh": ["pipeline", "run"]}
OPERATORS = {"&&", "||", ";", "|", "&"}
OPTION_LINE = re.compile(
    r"^\s+(?:-\w,)?(--[A-Za-z0-9][\w-]*)(?:[ =]([A-Z]+)\b)?")


class Checker:
    """Checks commands; problems() returns what is wrong, [] when all good."""

    def __init__(self, source_dir, binary):
        self.source_dir = source_dir
        self.binary = binary

    # ---- help texts of the real binary and scripts ----
    @functools.lru_cache(maxsize=None)
    def spatial_help(self, path):
        """(ok, text) of `spatial PATH... --help`."""
        r = subprocess.run([self.binary, *path, "--help"], capture_output=True,
                           text=True, timeout=30, cwd=self.source_dir)
        return r.returncode == 0, r.stdout + r.stderr

    @functools.lru_cache(maxsize=None)
    def script_help(self, script):
        r = subprocess.run(["bash", script, "--help"], capture_output=True,
                           text=True, timeout=30, cwd=self.source_dir)
        return r.returncode == 0, r.stdout + r.stderr

    @staticmethod
    def options(help_text):
        """{--flag: takes_value} from a CLI11 help text."""
        opts = {}
        for line in help_text.splitlines():
            m = OPTION_LINE.match(line)
            if m:
                opts[m.group(1)] = m.group(2) is not None
        return opts

    @staticmethod
    def subcommands(help_text):
        subs, inside = set(), False
        for line in help_text.splitlines():
            if line.startswith("Subcommands:"):
                inside = True
            elif inside and re.match(r"^  \S", line):
                subs.add(line.split()[0])
            elif inside and line and not line.startswith(" "):
                inside = False
        return subs

    def stage_names(self):
        """The stage names `spatial pipeline run --help` lists for --stages."""
        ok, text = self.spatial_help(("pipeline", "run"))
        flat = " ".join(text.split())
        m = re.search(r"\(default all\): ([a-z0-9, -]+?)(?: --|$)", flat)
        if not ok or not m:
            return []
        return [s.strip() for s in m.group(1).split(",") if s.strip()]

    # ---- one command ----
    def check_spatial(self, args, where):
        problems, path = [], []
        ok, text = self.spatial_help(())
        i = 0
        while i < len(args):
            word = args[i]
            if word.startswith("-"):
                flag, _, value = word.partition("=")
                opts = self.options(text)
                if flag not in opts:
                    problems.append(f"{where}: spatial {' '.join(path)} has no "
                                    f"flag {flag}")
                elif opts[flag] and not value and "=" not in word:
                    i += 1
                    value = args[i] if i < len(args) else ""
                problems += self.check_value(flag, value, where)
            elif word in self.subcommands(text):
                path.append(word)
                ok, text = self.spatial_help(tuple(path))
                if not ok:
                    problems.append(f"{where}: `spatial {' '.join(path)} "
                                    "--help` failed")
                    return problems
            elif self.subcommands(text):
                problems.append(f"{where}: spatial {' '.join(path)} has no "
                                f"subcommand '{word}'")
                return problems
            i += 1
        if not path:
            problems.append(f"{where}: spatial without a subcommand")
        return problems

    def check_value(self, flag, value, where):
        if flag == "--stages":
            known = self.stage_names()
            bad = [s for s in value.split(",") if s not in known]
            if bad or not value:
                return [f"{where}: --stages '{value}': unknown stage(s) {bad}"]
        if flag == "--environment" and value not in (
                "development", "staging", "production"):
            return [f"{where}: --environment '{value}' is not an environment"]
        return []

    def check_script(self, script, args, where):
        full = os.path.join(self.source_dir, script)
        if not os.path.isfile(full):
            return [f"{where}: script {script} does not exist"]
        problems, rest = [], args
        if "--" in args and script in PASS_THROUGH:
            cut = args.index("--")
            rest = args[:cut]
            problems += self.check_spatial(
                PASS_THROUGH[script] + args[cut + 1:], where)
        flags = [a.partition("=")[0] for a in rest if a.startswith("-")]
        if flags:
            ok, text = self.script_help(script)
            for f in flags:
                if not ok or not re.search(re.escape(f) + r"\b", text):
                    problems.append(f"{where}: {script} --help does not list "
                                    f"{f}")
        return problems

    def check_make(self, args, where):
        with open(os.path.join(self.source_dir, "Makefile")) as f:
            text = f.read()
        targets = set(re.findall(r"^([\w.-]+):", text, re.M))
        return [f"{where}: Makefile has no target '{t}'" for t in args
                if not t.startswith("-") and "=" not in t and
                t not in targets]

    def check_cmake(self, args, where):
        with open(os.path.join(self.source_dir, "CMakePresets.json")) as f:
            presets = {p["name"] for p in json.load(f)["configurePresets"]}
        problems = []
        for flag, value in zip(args, args[1:] + [""]):
            if flag == "--preset" and value not in presets:
                problems.append(f"{where}: no CMake preset '{value}'")
            if flag == "--build" and value not in (f"build/{p}"
                                                   for p in presets):
                problems.append(f"{where}: {value} is no preset's build dir")
        return problems

    def check_command(self, words, where):
        while words and re.match(r"^[A-Za-z_]\w*=", words[0]):
            words = words[1:]
        if not words:
            return []
        cmd, args = words[0], words[1:]
        if cmd in SPATIAL_NAMES:
            return self.check_spatial(args, where)
        if cmd in ("bash", "sh"):
            if not args:
                return [f"{where}: {cmd} without a script"]
            return self.check_script(args[0], args[1:], where)
        if cmd.startswith(("scripts/", "./scripts/")):
            return self.check_script(cmd.removeprefix("./"), args, where)
        if cmd == "make":
            return self.check_make(args, where)
        if cmd == "cmake":
            return self.check_cmake(args, where)
        return [f"{where}: unknown command '{cmd}'"]

    def check_script_text(self, text, env, where):
        """Every command of a `run:` script, with `env` substituted."""
        problems = []
        if "${{" in text:
            problems.append(f"{where}: an expression inside the script (pass "
                            "it through env:)")
        text = text.replace("\\\n", " ")
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.strip().startswith("#"):
                continue
            for var in re.findall(r"\$\{?([A-Za-z_]\w*)", line):
                if var not in env:
                    problems.append(f"{where}: ${var} is not set by env:")
            expanded = re.sub(r"\$\{?([A-Za-z_]\w*)\}?",
                              lambda m: env.get(m.group(1), ""), line)
            lexer = shlex.shlex(expanded, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            words = []
            for tok in list(lexer) + [";"]:
                if tok in OPERATORS:
                    problems += self.check_command(words, f"{where} line {n}")
                    words = []
                else:
                    words.append(tok)
        return problems
