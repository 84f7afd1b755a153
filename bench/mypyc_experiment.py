"""Issue 14 experiment: our own hot modules compiled with mypyc (it ships with mypy), in a copy of the package.

    python bench/mypyc_experiment.py [read|map|read+map|validate|all] [--into /tmp/fhir-adapter-mypyc]

copies ``src/fhir_adapter`` (and links ``mappings/``) into ``--into``, compiles the chosen set there (read+map: about
3 minutes on this machine's one core that mypyc and gcc use, 1.5 GB of memory) and prints the ``PYTHONPATH`` that
runs it, e.g. ``PYTHONPATH=/tmp/fhir-adapter-mypyc/src python bench/registry.py``. The checkout is never touched: a
compiled module's .so wins over its .py on import, so a build in place would silently ignore later edits. Needs gcc
and the Python headers. Measure compiled and pure back to back, alternating, and check the output digest in both.

Findings (2026-12-04, mypy 2.4.1; the stop-24 note of issue 14 has the measurements): ``read+map`` gives the same
output and passes the fast suite but for one test that monkeypatches a compiled function; read and map are about
1.45x cheaper, the validated 2-worker pipeline about 1.23x faster, and ``--no-validate`` moves from 1/22 to 1/16 of
the orjson floor. ``validate`` gains nothing (it works on untyped dicts) and changes behaviour: mypyc enforces
annotations typeshed gets wrong (``frozenset & dict_keys`` is a set), whose TypeErrors ``profile.py`` takes for
unevaluable constraints. Traps for compiled code, avoided in the source since: identity tests on tuples (mypyc copies
tuples when boxing them) and ints in ``float`` fields (made floats: hence the model's ``int | float``).

Left out of every set: ``sources/zip_directory.py`` (a subclass of ``zipfile.ZipFile``: an internal mypyc error),
``bundle.py`` (a module ``__getattr__``: the compiled module crashes on import), ``validate/__init__.py`` (the
``sys.modules[__name__].__class__`` trick: "object layout differs"); ``validate/_common.py``'s recursive ``Loc``
alias crashes mypyc itself (SIGSEGV) unless made non-recursive.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SETS = {
    "read": ["computable", "regimen", "sources"],
    "map": ["fhir", "ascii_words.py", "terminology.py"],
    "validate": ["validate"],
}
SETS["read+map"] = SETS["read"] + SETS["map"]
SETS["all"] = SETS["read+map"] + SETS["validate"]
EXCLUDED = {"sources/zip_directory.py", "bundle.py", "validate/__init__.py"}
MARK = ".mypyc-experiment"  # in --into: a folder this script made, which its next run may delete


def modules(root: Path, names: list[str]) -> list[str]:
    """The .py files of ``names`` (packages or modules of the package at ``root``), relative to its parent, less
    ``EXCLUDED``."""
    files = [p for n in names for p in (sorted((root / n).rglob("*.py")) if (root / n).is_dir() else [root / n])]
    return [str(p.relative_to(root.parent)) for p in files if str(p.relative_to(root)) not in EXCLUDED]


def copy_of_package(into: Path) -> Path:
    """A fresh copy of the package at ``into/src/fhir_adapter`` (``into/mappings`` links the repository's tables,
    where ``terminology`` looks for them); returns ``into/src``. An existing ``into`` is replaced only if this script
    made it."""
    if into.exists():
        if not (into / MARK).exists():  # never delete a folder this script did not make
            sys.exit(f"{into} exists and is not a build of this script: choose another --into")
        shutil.rmtree(into)
    into.mkdir(parents=True)
    (into / MARK).write_text("made by bench/mypyc_experiment.py; rebuilt (deleted first) by its next run\n")
    src = into / "src"
    shutil.copytree(REPO / "src" / "fhir_adapter", src / "fhir_adapter", ignore=shutil.ignore_patterns("*.so"))
    (into / "mappings").symlink_to(REPO / "mappings")
    return src


def build(name: str, into: Path) -> None:
    src = copy_of_package(into)
    files = modules(src / "fhir_adapter", SETS[name])
    mypyc = Path(sys.executable).with_name("mypyc")
    wall, cpu = time.perf_counter(), time.process_time()
    done = subprocess.run([str(mypyc), *files], cwd=src, capture_output=True, text=True, check=False)
    children = os.times().children_user + os.times().children_system
    if done.returncode:
        sys.exit(f"mypyc failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    size = sum(p.stat().st_size for p in src.rglob("*.so") if "build" not in p.relative_to(src).parts)
    print(
        f"{len(files)} modules in {time.perf_counter() - wall:.0f} s wall, {children + time.process_time() - cpu:.0f}"
        f" s CPU; {size / 1e6:.1f} MB of .so\nrun it with PYTHONPATH={src}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("set", nargs="?", default="read+map", choices=sorted(SETS))
    parser.add_argument("--into", type=Path, default=Path("/tmp/fhir-adapter-mypyc"))
    args = parser.parse_args()
    build(args.set, args.into.resolve())


if __name__ == "__main__":
    main()
