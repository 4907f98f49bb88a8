#!/usr/bin/env python3
"""Writes crates/analysis/stdlib/3.X.txt: what `import NAME` finds in CPython 3.X's standard library on
Linux, for lamina's static import check when the base's own stdlib directory is not local.

Run it with the CPython whose list you want (on this repository's machines, the pyenv builds):

    for v in 3.8 3.9 3.10 3.11 3.12 3.13; do
        ~/.pyenv/versions/$v.*/bin/python crates/analysis/stdlib/make-stdlib-lists.py crates/analysis/stdlib
    done

Each line is `KIND NAME`:
- `builtin` -- sys.builtin_module_names (compiled into the interpreter; awslambdaric refuses a
  handler module of that name: Runtime.BuiltInModuleConflict);
- `frozen` -- frozen modules (3.11+: found before anything on sys.path);
- `module` -- every module and package importable from the stdlib directory: `*.py` files and
  packages (directories with `__init__.py`) under lib/python3.X, extension modules in
  lib-dynload, plus modules that exist only as sys.modules aliases after start-up (`os.path`).
  Skipped: site-packages, the `test` package's insides, `__pycache__`, `idle_test`.

3.14 has no pyenv build here; `--derive 3.13.txt ADDED.txt` writes the 3.13 list plus the names in
ADDED.txt (one per line; `-NAME` removes one). crates/analysis/stdlib/3.14-changes.txt holds the
additions and removals between the 3.13 and 3.14 lists of the `stdlib-list` project (0.12.0, from
PyPI), checked one by one against "What's New In Python 3.14" (collections.abc is kept: 3.14 still
provides it, as a sys.modules alias).
"""

import os
import sys


def walk(root):
    names = set()
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        parts = [] if rel == "." else rel.split(os.sep)
        # Only descend into packages; skip site-packages and the insides of test suites.
        keep = []
        for d in dirnames:
            if d in ("__pycache__", "site-packages") or d.startswith("config-"):
                continue
            if parts[:1] == ["test"] or d in ("idle_test", "tests"):
                continue
            if os.path.isfile(os.path.join(dirpath, d, "__init__.py")) and d.isidentifier():
                keep.append(d)
        dirnames[:] = keep
        if parts and not os.path.isfile(os.path.join(dirpath, "__init__.py")):
            continue
        if parts:
            names.add(".".join(parts))
        for f in filenames:
            stem, ext = os.path.splitext(f)
            if ext == ".py" and stem != "__init__" and stem.isidentifier():
                names.add(".".join(parts + [stem]))
    return names


def main():
    if sys.argv[1] == "--derive":
        base, changes, out = sys.argv[2], sys.argv[3], sys.argv[4]
        lines = [l.rstrip("\n") for l in open(base) if l.strip()]
        header = [l for l in lines if l.startswith("#")]
        body = {tuple(l.split(" ", 1)) for l in lines if not l.startswith("#")}
        for c in open(changes):
            c = c.split("#", 1)[0].strip()
            if not c:
                continue
            if c.startswith("-"):
                body.discard(("module", c[1:]))
            else:
                body.add(("module", c))
        with open(out, "w") as f:
            f.write("# CPython 3.14 on Linux: derived from %s and %s by %s --derive\n"
                    % (os.path.basename(base), os.path.basename(changes), os.path.basename(__file__)))
            for h in header[1:]:
                f.write(h + "\n")
            for kind, name in sorted(body):
                f.write("%s %s\n" % (kind, name))
        return
    outdir = sys.argv[1]
    import sysconfig

    stdlib = sysconfig.get_paths()["stdlib"]
    dynload = os.path.join(stdlib, "lib-dynload")
    modules = walk(stdlib)
    if os.path.isdir(dynload):
        for f in os.listdir(dynload):
            if f.endswith(".so"):
                modules.add(f.split(".", 1)[0])
    builtin = set(sys.builtin_module_names)
    # Aliases that exist only in sys.modules (os.path is posixpath, not a file os/path.py).
    for name, mod in list(sys.modules.items()):
        top = name.split(".")[0]
        if "." in name and top in modules and mod is not None:
            modules.add(name)
    import _imp

    frozen = set()
    if hasattr(_imp, "_frozen_module_names"):
        frozen = {n for n in _imp._frozen_module_names() if not n.startswith("__")}
    v = sys.version_info
    path = os.path.join(outdir, "3.%d.txt" % v.minor)
    with open(path, "w") as f:
        f.write("# CPython %d.%d.%d on Linux %s (%s): written by make-stdlib-lists.py\n"
                % (v.major, v.minor, v.micro, os.uname().machine, sys.executable))
        f.write("# builtin: sys.builtin_module_names; frozen: found before sys.path; module: importable\n")
        for n in sorted(builtin):
            f.write("builtin %s\n" % n)
        for n in sorted(frozen):
            f.write("frozen %s\n" % n)
        for n in sorted(modules - builtin):
            f.write("module %s\n" % n)
    print(path, len(builtin), len(frozen), len(modules))


if __name__ == "__main__":
    main()
