"""Issue 14 experiment: our own hot modules compiled with mypyc (ships with mypy), in place, next to the .py.

    python bench/mypyc_experiment.py build read     # computable/, regimen/, sources/ (about 2 min on 2 cores)
    python bench/mypyc_experiment.py clean          # back to pure Python: removes src/**/*.so and src/build/

A compiled module's .so wins over its .py on import, so edits to a compiled .py are silently ignored until
``clean``. Measure compiled and pure back to back (``bench/registry.py``, ``/work/notes/nvprof.py``) and check the
output digest in both states.

Left out of every set: ``sources/zip_directory.py`` (a subclass of ``zipfile.ZipFile``: an internal mypyc error),
``bundle.py`` (a module ``__getattr__``: the compiled module crashes on import) and ``validate/__init__.py`` (the
``sys.modules[__name__].__class__`` trick: "object layout differs"). ``read+map`` gives the same output and passes
the fast suite but for one test that monkeypatches a compiled function (2026-12-04, mypy 2.4.1; mypyc makes an int
in a ``float`` field or parameter a float, hence the ``int | float`` fields of the model). ``validate`` changes
behaviour and gains nothing: mypyc enforces annotations that typeshed gets wrong (``frozenset & dict_keys`` is a
set), whose TypeErrors ``profile.py`` takes for unevaluable constraints; and ``validate/_common.py`` (the recursive
``Loc`` alias) crashes mypyc itself (SIGSEGV) unless ``Loc`` is made non-recursive.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
SETS = {
    "read": ["computable", "regimen", "sources"],
    "map": ["fhir", "ascii_words.py", "terminology.py"],
    "validate": ["validate"],
}
SETS["read+map"] = SETS["read"] + SETS["map"]
SETS["all"] = SETS["read+map"] + SETS["validate"]
EXCLUDED = {"sources/zip_directory.py", "bundle.py", "validate/__init__.py"}


def modules(names: list[str]) -> list[str]:
    """The .py files of ``names`` (packages or modules of ``fhir_adapter``), relative to src/, less ``EXCLUDED``."""
    root = SRC / "fhir_adapter"
    files = [p for n in names for p in (sorted((root / n).rglob("*.py")) if (root / n).is_dir() else [root / n])]
    return [str(p.relative_to(SRC)) for p in files if str(p.relative_to(root)) not in EXCLUDED]


def build(name: str) -> None:
    files = modules(SETS[name])
    mypyc = Path(sys.executable).with_name("mypyc")
    wall, cpu = time.perf_counter(), time.process_time()
    done = subprocess.run([str(mypyc), *files], cwd=SRC, capture_output=True, text=True)
    children = os.times().children_user + os.times().children_system
    if done.returncode:
        sys.exit(f"mypyc failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    size = sum(p.stat().st_size for p in SRC.rglob("*.so") if "build" not in p.parts)
    print(
        f"{len(files)} modules in {time.perf_counter() - wall:.0f} s wall, {children + time.process_time() - cpu:.0f}"
        f" s CPU; {size / 1e6:.1f} MB of .so"
    )


def clean() -> None:
    for p in SRC.rglob("*.so"):
        p.unlink()
    shutil.rmtree(SRC / "build", ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["build", "clean"])
    parser.add_argument("set", nargs="?", default="read", choices=sorted(SETS))
    args = parser.parse_args()
    if args.action == "build":
        build(args.set)
    else:
        clean()


if __name__ == "__main__":
    main()
