#!/usr/bin/env python3
"""Checks README.md, CONTRIBUTING.md and docs/*.md against the real binary
and the repository, without running anything but `spatial ... --help`:

- every `spatial ...` command line, in fenced blocks (all of a block's lines,
  or only its `$ ` lines when it shows a session) and in inline code, names
  subcommands the binary has and flags its `--help` lists (`--stages` values
  too); `[--flag X]`, `<placeholder>` and `...` are documentation notation;
- no sentence says that something the binary does is unfinished ("in
  progress", "not yet implemented", "once the server enforces it", ...);
- every relative link resolves to a file (and a `#heading` in it), and every
  repository path in inline code (`src/...`, `bench/...`, `tests/...`) exists.

  docs_cli_test.py --source-dir DIR --binary build/release/cli/spatial

Owns nothing but this check; single-threaded.
"""

import argparse
import glob
import os
import re
import shlex
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from commands import Checker  # noqa: E402

ARGS = None
FENCE = re.compile(r"^```(\S*)\s*$")
NOT_SHELL = {"json", "yaml", "ini"}
# Claims that something is not done. A hit fails when its sentence names
# something the binary does (WHAT_THE_BINARY_DOES or a subcommand).
STALE = re.compile(
    r"\b(?:in progress|not (?:yet )?implemented|unimplemented|coming soon|"
    r"to be implemented|once the (?:server|binary|cli|command)\b[^.;)|]*)|"
    r"\(see the issues\)", re.I)
WHAT_THE_BINARY_DOES = re.compile(
    r"`spatial|\bspatial [a-z]|\bserver?\b|\bserving\b|\bbinary\b|\bcommand\b|"
    r"\bendpoint|\bflag\b|`--", re.I)
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
INLINE = re.compile(r"(`+)(.+?)\1")
REPO_PATH = re.compile(
    r"^(?:build/release/)?((?:src|tests|bench|scripts|config|deploy|models|"
    r"training|docs|cli|\.github)/[\w.@+/-]*)$")
PLACEHOLDER = re.compile(r"<[^<>\s]+(?: [^<>\s]+)*>")
SKIP_WORDS = {"if", "then", "do", "else", "elif", "while", "until", "!",
              "exec", "time", "nice", "sudo", "env", "command", "{", "}"}


# ---- reading the documents ----
def split_doc(text):
    """(prose lines [(n, line)], fenced blocks [(n, lang, [lines])])."""
    prose, blocks, lang = [], [], None
    for n, line in enumerate(text.splitlines(), 1):
        m = FENCE.match(line)
        if lang is None and m:
            lang, start, code = m.group(1), n + 1, []
        elif lang is not None and line.strip() == "```":
            blocks.append((start, lang, code))
            lang = None
        elif lang is not None:
            code.append(line)
        else:
            prose.append((n, line))
    if lang is not None:
        raise ValueError(f"unterminated block starting at line {start - 1}")
    return prose, blocks


def block_lines(start, code):
    """[(line number, command text)] of a block: its `$ ` lines if it has
    any (a session with output), else every line; `\\` continues a line."""
    session = any(line.startswith("$ ") for line in code)
    out, cont = [], None
    for i, line in enumerate(code):
        if cont is None:
            if session and not line.startswith("$ "):
                continue
            cont = (start + i, line[2:] if session else line)
        else:
            cont = (cont[0], cont[1] + " " + line.strip())
        if cont[1].endswith("\\"):
            cont = (cont[0], cont[1][:-1])
        else:
            out.append(cont)
            cont = None
    if cont is not None:
        out.append(cont)
    return out


def inline_spans(prose):
    """[(line number, code)] of inline code; a span may wrap lines."""
    out, para = [], []
    for n, line in prose + [(None, "")]:
        if line.strip():
            para.append((n, line))
            continue
        text, starts = "", []
        for n2, l2 in para:
            starts.append((len(text), n2))
            text += l2 + " "
        for m in INLINE.finditer(text):
            line_no = max(s for s in starts if s[0] <= m.start())[1]
            out.append((line_no, m.group(2).strip()))
        para = []
    return out


def spatial_commands(text):
    """The argument lists of every `spatial` command in a line of shell."""
    text = PLACEHOLDER.sub("PLACEHOLDER", text)
    text = text.replace("$(", " ( ").replace("`", " ; ")
    lexer = shlex.shlex(text, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    try:
        tokens = list(lexer)
    except ValueError:  # an unbalanced quote: fall back to words
        tokens = text.split()
    found, seg = [], []
    for i, tok in enumerate(tokens + [";"]):
        if tok and all(c in "();<>|&" for c in tok):
            if seg and seg[-1].isdigit() and tok[0] in "<>":
                seg.pop()  # 2>&1
            found += segment_command(seg)
            seg = []
            if tok[0] in "<>":  # the redirection target is no command
                seg = ["__redirect__"]
        else:
            if " " in tok and "spatial" in tok:  # sh -c '...', "$(...)"
                found += spatial_commands(tok)
            seg.append(tok)
    return found


def segment_command(seg):
    words = list(seg)
    while words and (words[0] in SKIP_WORDS or
                     re.match(r"^[A-Za-z_]\w*=", words[0])):
        words.pop(0)
    if not words or not (words[0] == "spatial" or
                         words[0].endswith("/cli/spatial") or
                         words[0] == "/usr/local/bin/spatial"):
        return []
    args = []
    for w in words[1:]:
        w = w.strip("[]")
        if w and w not in ("...", "…"):
            args.append(w)
    return [args] if args else []  # a bare `spatial` is the binary's name


def documents():
    root = ARGS.source_dir
    paths = ["README.md", "CONTRIBUTING.md"] + sorted(
        os.path.relpath(p, root) for p in glob.glob(f"{root}/docs/*.md"))
    out = []
    for rel in paths:
        with open(os.path.join(root, rel)) as f:
            out.append((rel, f.read()))
    return out


# ---- the checks ----
class DocChecker(Checker):
    """Checker's `spatial` walk, with documentation notation allowed."""

    ENV_VALUES = {"development", "staging", "production"}

    def legacy_aliases(self):
        """{--alias: subcommand} of `spatial model`'s original-tool flags,
        read from the table in cli/ (`{"--list", {"list", false}}`)."""
        aliases = {}
        for path in glob.glob(os.path.join(self.source_dir, "cli", "*.cc")):
            with open(path) as f:
                aliases.update(re.findall(
                    r'\{"(--\w+)",\s*\{"(\w+)",\s*(?:true|false)\}\}',
                    f.read()))
        return aliases

    def check_doc_command(self, args, where):
        problems, path = [], []
        ok, text = self.spatial_help(())
        opts = self.options(text)
        if args[:1] == ["model"]:  # `model --list` is `model list`
            aliases = self.legacy_aliases()
            for k, word in enumerate(args):
                if word.partition("=")[0] in aliases:
                    args = (["model", aliases[word.partition("=")[0]]] +
                            args[1:k] + args[k + 1:])
                    break
        i = 0
        while i < len(args):
            word = args[i]
            if word == "--":
                break
            if word.startswith("-") and word != "-":
                flag, eq, value = word.partition("=")
                if flag not in opts:
                    problems.append(f"{where}: `spatial {' '.join(path)}` has "
                                    f"no flag {flag} (see `spatial "
                                    f"{' '.join(path)} --help`)")
                elif opts[flag] and not eq:
                    i += 1
                    value = args[i] if i < len(args) else ""
                if opts.get(flag) and value:
                    problems += self.check_doc_value(path, flag, value, where)
            elif word in self.subcommands(text):
                path.append(word)
                ok, text = self.spatial_help(tuple(path))
                # A parent's options are accepted after a subcommand too.
                opts = {**opts, **self.options(text)}
                if not ok:
                    return problems + [f"{where}: `spatial {' '.join(path)} "
                                       "--help` failed"]
            elif self.subcommands(text):
                if is_placeholder(word):
                    return problems  # `spatial COMMAND --help`
                return problems + [f"{where}: `spatial {' '.join(path)}` has "
                                   f"no subcommand '{word}'"]
            i += 1
        return problems

    def check_doc_value(self, path, flag, value, where):
        if is_placeholder(value) or "$" in value:
            return []
        if flag == "--stages":
            known = self.stage_names()
            parts = value.split(",")
            bad = [s for s in parts if s not in known and not s.isdigit()]
            if bad:
                return [f"{where}: --stages '{value}': unknown stage(s) {bad}"]
        if flag == "--environment":
            allowed = self.ENV_VALUES | ({"all"} if path == ["envtest"] else
                                         set())
            if value not in allowed:
                return [f"{where}: --environment '{value}' is not an "
                        "environment"]
        return []


def is_placeholder(word):
    w = word.strip("<>")
    return (word == "PLACEHOLDER" or bool(re.fullmatch(r"[A-Z][A-Z0-9_]*", w))
            or word.startswith("<"))


def command_problems(checker, rel, text):
    prose, blocks = split_doc(text)
    found = []
    for start, lang, code in blocks:
        if lang in NOT_SHELL:
            continue
        for n, line in block_lines(start, code):
            for args in spatial_commands(line):
                found.append((f"{rel}:{n}", args))
    for n, code in inline_spans(prose):
        for args in spatial_commands(code):
            found.append((f"{rel}:{n}", args))
    problems = []
    for where, args in found:
        problems += checker.check_doc_command(args, where)
    return found, problems


def subcommand_names(checker):
    """The binary's top-level subcommands (`model`, `serve`, `pipeline`...)."""
    ok, text = checker.spatial_help(())
    return checker.subcommands(text) if ok else set()


def prose_units(prose):
    """[(line number, text)]: paragraphs, with each heading, list item and
    table row a unit of its own."""
    out, unit = [], None
    for n, line in prose + [(None, "")]:
        own = re.match(r"^\s*(#|\||[-*] |\d+\. )", line)
        if not line.strip() or own:
            if unit:
                out.append(unit)
            unit = (n, line) if own and line.strip() else None
        elif unit:
            unit = (unit[0], unit[1] + " " + line.strip())
        else:
            unit = (n, line)
    return out


def stale_problems(rel, text, names):
    prose, _ = split_doc(text)
    problems = []
    for n, unit in prose_units(prose):
        for m in STALE.finditer(unit):
            lo = unit.rfind(". ", 0, m.start())
            hi = unit.find(". ", m.end())
            sentence = unit[lo + 2 if lo >= 0 else 0:
                            hi + 1 if hi >= 0 else len(unit)].strip()
            named = [w for w in re.findall(r"[a-z]+", sentence) if w in names]
            if named or WHAT_THE_BINARY_DOES.search(sentence):
                problems.append(f"{rel}:{n}: '{m.group(0).strip()}' said of something "
                                f"the binary does: {sentence[:240]}")
    return problems


def slug(heading):
    s = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return s.replace(" ", "-")


def anchors_of(path):
    with open(path) as f:
        prose, _ = split_doc(f.read())
    return {slug(line.lstrip("#")) for _, line in prose
            if line.startswith("#")}


def link_problems(rel, text, root):
    prose, _ = split_doc(text)
    here = os.path.dirname(os.path.join(root, rel))
    problems = []
    for n, line in prose:
        for target in LINK.findall(line):
            if re.match(r"^[a-z]+:", target):
                continue  # http:, https:, mailto:
            file, _, anchor = target.partition("#")
            full = os.path.normpath(os.path.join(here, file)) if file else \
                os.path.join(root, rel)
            if not os.path.exists(full):
                problems.append(f"{rel}:{n}: link to {target}: no such file")
            elif anchor and full.endswith(".md") and \
                    anchor not in anchors_of(full):
                problems.append(f"{rel}:{n}: link to {target}: no heading "
                                f"'{anchor}' in {os.path.relpath(full, root)}")
    for n, code in inline_spans(prose):
        m = REPO_PATH.match(code)
        if not m or re.search(r"[<>*{}]|\b[A-Z]{2,}\b", code):
            continue
        path = m.group(1).rstrip("/")
        if code.startswith("build/release/"):
            if not built_target(root, path):
                problems.append(f"{rel}:{n}: `{code}`: no add_executable("
                                f"{os.path.basename(path)} in "
                                f"{os.path.dirname(path)}/CMakeLists.txt")
            continue
        candidates = [path] + [path + ext for ext in (".cc", ".sh", ".py")]
        if not any(os.path.exists(os.path.join(root, c)) for c in candidates) \
                and not git_ignored(root, path):
            problems.append(f"{rel}:{n}: `{code}` names {path}, which does "
                            "not exist")
    return problems


def built_target(root, path):
    cmake = os.path.join(root, os.path.dirname(path), "CMakeLists.txt")
    if not os.path.isfile(cmake):
        return False
    with open(cmake) as f:
        return f"add_executable({os.path.basename(path)} " in f.read()


def git_ignored(root, path):
    r = subprocess.run(["git", "-C", root, "check-ignore", "-q", path],
                       capture_output=True)
    return r.returncode == 0


# ---- tests ----
class DocsCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.checker = DocChecker(ARGS.source_dir, ARGS.binary)
        cls.names = subcommand_names(cls.checker)
        cls.docs = documents()

    def test_extraction(self):
        self.assertEqual(
            spatial_commands("spatial model list [--environment staging] "
                             "[--json] | head  # newest"),
            [["model", "list", "--environment", "staging", "--json"]])
        self.assertEqual(spatial_commands(
            "latest=$(spatial model latest --environment E) && "
            "spatial audit verify 2>&1 > out.txt"),
            [["model", "latest", "--environment", "E"], ["audit", "verify"]])
        self.assertEqual(spatial_commands(
            "ExecStart=/bin/sh -c 'exec /usr/local/bin/spatial model backup "
            "--out x'"), [["model", "backup", "--out", "x"]])
        self.assertEqual(spatial_commands("One binary, spatial, and more"), [])
        self.assertEqual(spatial_commands("pizza-api-spatial listening"), [])
        self.assertEqual(
            block_lines(5, ["$ spatial check \\", "    --dry-run",
                            "spatial check (output, 3 ms)", "$ ls"]),
            [(5, "spatial check  --dry-run"), (8, "ls")])

    def test_the_check_can_fail(self):
        """An invented flag, an unknown subcommand, a wrong value, stale text
        and a broken link each fail; documentation notation does not."""
        c = self.checker
        bad = ("```sh\nspatial model list --no-such-flag\n"
               "spatial model frobnicate v1\n"
               "spatial pipeline run --stages deployment,nonsense\n```\n"
               "Use `spatial serve --invented-flag 3`.\n")
        found, problems = command_problems(c, "x.md", bad)
        self.assertEqual(len(found), 4)
        self.assertEqual(len(problems), 4, problems)
        self.assertIn("no flag --no-such-flag", problems[0])
        self.assertIn("no subcommand 'frobnicate'", problems[1])
        self.assertIn("nonsense", problems[2])
        self.assertIn("x.md:6", problems[3])
        good = ("```sh\nspatial model rollback --environment development "
                "[--to ID] [--reason TEXT]\nspatial <command> --help\n```\n")
        self.assertEqual(command_problems(c, "x.md", good)[1], [])
        self.assertEqual(len(stale_problems(
            "x.md", "The server (`spatial serve`, in progress) is.\n",
            self.names)), 1)
        self.assertEqual(len(stale_problems(
            "x.md", "Retraining was in progress when this was written.\n",
            self.names)), 0)
        self.assertEqual(len(link_problems(
            "README.md", "See [x](docs/NOPE.md) and `bench/nope_bench`.\n",
            ARGS.source_dir)), 2)

    def test_commands_match_the_binary(self):
        total, problems = 0, []
        for rel, text in self.docs:
            found, p = command_problems(self.checker, rel, text)
            total += len(found)
            problems += p
        print(f"checked {total} spatial commands", file=sys.stderr)
        self.assertGreater(total, 100, "the docs show few commands")
        self.assertEqual(problems, [], "\n" + "\n".join(problems))

    def test_no_stale_text(self):
        problems = []
        for rel, text in self.docs:
            problems += stale_problems(rel, text, self.names)
        self.assertEqual(problems, [], "\n" + "\n".join(problems))

    def test_links_and_paths_resolve(self):
        problems = []
        for rel, text in self.docs:
            problems += link_problems(rel, text, ARGS.source_dir)
        self.assertEqual(problems, [], "\n" + "\n".join(problems))


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
