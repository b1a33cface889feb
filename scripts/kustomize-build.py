#!/usr/bin/env python3
"""Prints what `kubectl kustomize DIR` prints, for the subset of kustomize that
deploy/k8s uses, where kubectl is not installed (podman hosts, CI):
`resources` (files, or directories with a kustomization.yaml) and `patches`
with a `target` (kind, name) and an inline JSON 6902 `patch` (add, remove,
replace). Anything else in a kustomization is refused by name, so that a
rendering never silently differs from kustomize's.

  python3 scripts/kustomize-build.py deploy/k8s/podman | podman kube play -
"""
import os
import sys

import yaml

KNOWN = {"apiVersion", "kind", "resources", "patches"}


def fail(msg):
    sys.stderr.write("kustomize-build: %s\n" % msg)
    sys.exit(1)


def pointer(path):
    parts = path.lstrip("/").split("/")
    return [p.replace("~1", "/").replace("~0", "~") for p in parts]


def apply_op(doc, op):
    keys = pointer(op["path"])
    parent = doc
    for k in keys[:-1]:
        parent = parent[int(k)] if isinstance(parent, list) else parent[k]
    last = keys[-1]
    if isinstance(parent, list):
        last = len(parent) if last == "-" else int(last)
    kind = op["op"]
    if kind == "remove":
        del parent[last]
    elif kind == "replace":
        if isinstance(parent, dict) and last not in parent:
            fail("replace of a missing path %s" % op["path"])
        parent[last] = op["value"]
    elif kind == "add":
        if isinstance(parent, list):
            parent.insert(last, op["value"])
        else:
            parent[last] = op["value"]
    else:
        fail("patch op '%s' is not supported (add, remove, replace)" % kind)


def build(directory):
    path = os.path.join(directory, "kustomization.yaml")
    try:
        with open(path) as f:
            k = yaml.safe_load(f)
    except OSError as e:
        fail("cannot read %s: %s" % (path, e))
    unknown = set(k) - KNOWN
    if unknown:
        fail("%s uses %s, which this subset does not render; use kubectl "
             "kustomize" % (path, ", ".join(sorted(unknown))))
    docs = []
    for r in k.get("resources", []):
        p = os.path.normpath(os.path.join(directory, r))
        if os.path.isdir(p):
            docs.extend(build(p))
        else:
            with open(p) as f:
                docs.extend(d for d in yaml.safe_load_all(f) if d)
    for patch in k.get("patches", []):
        target = patch.get("target", {})
        ops = yaml.safe_load(patch["patch"])
        hits = [d for d in docs
                if d.get("kind") == target.get("kind") and
                d.get("metadata", {}).get("name") == target.get("name")]
        if not hits:
            fail("%s: no %s/%s to patch" % (path, target.get("kind"),
                                            target.get("name")))
        for d in hits:
            for op in ops:
                try:
                    apply_op(d, op)
                except (KeyError, IndexError, ValueError) as e:
                    fail("%s: %s %s: no such path (%s)" % (
                        path, op.get("op"), op.get("path"), e))
    return docs


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        sys.stdout.write(__doc__)
        sys.exit(0 if len(sys.argv) == 2 else 2)
    docs = build(sys.argv[1])
    sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False))


if __name__ == "__main__":
    main()
