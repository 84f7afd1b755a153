"""Every regular expression of fhir_adapter runs in linear time on adversarial input up to 1 MB (issue 8).

The patterns are found automatically, so a new one is covered without touching this file:

* every compiled ``re.Pattern`` reachable from the globals and class attributes of every module of the package;
* every ``re.<fn>("literal", ...)`` call in the package's source (found with ``ast``, compiled with its flags).

A ``re.<fn>(...)`` call whose pattern is neither a literal nor a module-level compiled pattern fails
``test_every_pattern_is_collectable``: hoist it to a module-level ``re.compile`` constant.

Each pattern is run (with the methods the source calls on it: ``search``, ``fullmatch``, ``finditer`` ...) on
inputs of about 1 MB: generic ones (runs of spaces, no-break spaces, tabs, newlines, digits, letters, the pattern's
own literal characters) and inputs derived from the pattern's parse tree (``re._parser``): for every repeated
sub-pattern, text that reaches it, characters it accepts repeated to 1 MB, then a character that makes the match
fail -- the classic inputs of catastrophic and polynomial backtracking.

Every input is first run at ``SMALL`` (64 KB), where a quadratic pattern already takes many seconds, with a
ceiling of ``SMALL_CEILING``; the ``FULL_RUNS`` slowest inputs of each pattern are then run at the full 1 MB with a
ceiling of ``CEILING``. Each run happens in a worker subprocess that is killed when it passes the ceiling.

The ceilings are a **hang detector, not a timing benchmark**: on 1 MB a linear pattern takes milliseconds (a few
hundred on a loaded machine) and a quadratic one hours, so they are set far above the linear time to stay green
on a machine shared with other work.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import pkgutil
import queue
import re
import re._constants as sre_c  # type: ignore[import-not-found,unused-ignore]
import re._parser as sre_p  # type: ignore[import-not-found,unused-ignore]
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import fhir_adapter

CEILING = 5.0  # seconds per (pattern, input, method) on ~1 MB: a hang detector, see the module docstring
SIZE = 1_000_000
SMALL = 65_536
SMALL_CEILING = 1.5  # linear: ~5 ms at 64 KB; quadratic: 2e9 steps
FULL_RUNS = 2
PACKAGE_DIR = Path(fhir_adapter.__file__).resolve().parent
METHODS = ("search", "match", "fullmatch", "finditer", "sub", "split")
# re.<fn> -> the method it runs, and the position of its flags argument
RE_FUNCS = {
    "compile": (None, 1),
    "search": ("search", 2),
    "match": ("match", 2),
    "fullmatch": ("fullmatch", 2),
    "findall": ("finditer", 2),
    "finditer": ("finditer", 2),
    "split": ("split", 3),
    "sub": ("sub", 4),
    "subn": ("sub", 4),
}
PATTERN_METHODS = {
    "search": "search",
    "match": "match",
    "fullmatch": "fullmatch",
    "findall": "finditer",
    "finditer": "finditer",
    "split": "split",
    "sub": "sub",
    "subn": "sub",
}

Segments = list[tuple[str, int]]  # an input as (unit, repeat count) pairs, built in the worker


@dataclass
class Case:
    """One pattern to check: where it is, its source and flags, and the methods the package calls on it."""

    where: str
    pattern: str | bytes
    flags: int
    methods: set[str] = field(default_factory=set)


# -- collecting the patterns ---------------------------------------------------------------------------------------
def _modules(problems: list[str]) -> Iterator[Any]:
    yield fhir_adapter
    for info in pkgutil.walk_packages(fhir_adapter.__path__, "fhir_adapter.", onerror=problems.append):
        if info.name.endswith(".__main__"):  # importing it runs the command line
            continue
        try:
            yield importlib.import_module(info.name)
        except Exception as exc:  # reported by test_every_pattern_is_collectable, the other modules still checked
            problems.append(f"{info.name}: cannot be imported ({type(exc).__name__}: {exc})")


def _compiled(problems: list[str]) -> dict[int, tuple[list[str], re.Pattern[Any]]]:
    """id(pattern) -> (every module:name bound to it, pattern) for the compiled patterns in module globals and class
    attributes (re.compile caches: two modules compiling the same pattern share one object)."""
    found: dict[int, tuple[list[str], re.Pattern[Any]]] = {}
    for module in _modules(problems):
        for name, value in vars(module).items():
            owners = [(name, value)]
            if isinstance(value, type) and value.__module__ == module.__name__:
                owners += [(f"{name}.{k}", v) for k, v in vars(value).items()]
            for label, obj in owners:
                values = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, tuple | list) else [obj]
                for v in values:
                    if isinstance(v, re.Pattern):
                        found.setdefault(id(v), ([], v))[0].append(f"{module.__name__}:{label}")
    return found


def _sources() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        yield str(path.relative_to(PACKAGE_DIR.parent)), ast.parse(path.read_text(encoding="utf-8"), str(path))


def _flags(node: ast.expr | None) -> int:
    """Evaluate a flags argument made of ``re.X`` constants, ``|`` and integers."""
    if node is None:
        return 0
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "re":
        return int(getattr(re, node.attr))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _flags(node.left) | _flags(node.right)
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    raise ValueError(f"flags are not re.<FLAG> constants: {ast.unparse(node)}")


def _scan_source() -> tuple[list[Case], dict[str, set[str]], list[str]]:
    """(literal patterns of re.<fn> calls, methods called per global name, problems) from the package's AST."""
    literals: list[Case] = []
    methods: dict[str, set[str]] = {}
    problems: list[str] = []
    for rel, tree in _sources():
        assigned = {id(n.value) for n in _top_level_assignments(tree)}
        module_patterns = {t.id for n in _top_level_assignments(tree) for t in _targets(n)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "re":
                problems.append(f"{rel}:{node.lineno}: 'from re import ...': call patterns as re.<fn>")
            if isinstance(node, ast.Import) and any(a.name == "re" and a.asname for a in node.names):
                problems.append(f"{rel}:{node.lineno}: 'import re as ...': import re as re")
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            func = node.func
            if isinstance(func.value, ast.Name) and func.value.id == "re" and func.attr in RE_FUNCS:
                method, flag_pos = RE_FUNCS[func.attr]
                where = f"{rel}:{node.lineno}"
                arg = node.args[0] if node.args else next((k.value for k in node.keywords if k.arg == "pattern"), None)
                flag_node = (
                    node.args[flag_pos]
                    if len(node.args) > flag_pos
                    else next((k.value for k in node.keywords if k.arg == "flags"), None)
                )
                if func.attr == "compile" and id(node) in assigned:
                    pass  # a module-level or class-level compiled constant: collected from the globals
                elif isinstance(arg, ast.Constant) and isinstance(arg.value, str | bytes):
                    literals.append(Case(where, arg.value, _flags(flag_node), {method} if method else set()))
                elif isinstance(arg, ast.Name) and arg.id in module_patterns:
                    methods.setdefault(arg.id, set()).add(method or "search")
                elif (text := _template(arg, rel)) is not None:  # constants around re.escape(run-time text)
                    literals.append(Case(where, text, _flags(flag_node), {method} if method else set()))
                else:
                    problems.append(
                        f"{where}: re.{func.attr} with a pattern built at run time: hoist it to a"
                        " module-level compiled constant (re.compile) so that it is checked"
                    )
            elif isinstance(func.value, ast.Name | ast.Attribute) and func.attr in PATTERN_METHODS:
                name = func.value.id if isinstance(func.value, ast.Name) else func.value.attr
                methods.setdefault(name, set()).add(PATTERN_METHODS[func.attr])
    return literals, methods, problems


def _template(node: ast.expr | None, rel: str) -> str | None:
    """The pattern of ``CONSTANT + re.escape(value) + CONSTANT`` (module-level string constants, literals and
    escaped run-time text, which matches only itself), with a sample for the escaped text; None for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        module = importlib.import_module(rel.removesuffix(".py").replace("/", ".").removesuffix(".__init__"))
        value = getattr(module, node.id, None)
        return value if isinstance(value, str) else None
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "escape"
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "re"
    ):
        return "k3y"
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _template(node.left, rel), _template(node.right, rel)
        return None if left is None or right is None else left + right
    return None


def _top_level_assignments(tree: ast.Module) -> Iterator[ast.Assign | ast.AnnAssign]:
    for node in tree.body:
        bodies = [node.body] if isinstance(node, ast.ClassDef) else [[node]]
        for body in bodies:
            for n in body:
                if isinstance(n, ast.Assign | ast.AnnAssign) and n.value is not None:
                    yield n


def _targets(node: ast.Assign | ast.AnnAssign) -> list[ast.Name]:
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return [t for t in targets if isinstance(t, ast.Name)]


def collect() -> tuple[list[Case], list[str]]:
    """Every pattern of the package with the methods called on it, and the collection problems."""
    literals, methods, problems = _scan_source()
    cases: list[Case] = []
    for wheres, pattern in _compiled(problems).values():
        names = [where.rsplit(":", 1)[1].rsplit(".", 1)[-1] for where in wheres]
        used = {m for name in names for m in methods.get(name) or METHODS}  # not called by name: every method
        cases.append(Case(" = ".join(dict.fromkeys(wheres)), pattern.pattern, pattern.flags, used))
    for case in literals:
        case.methods = case.methods or set(METHODS)
    return cases + literals, problems


# -- adversarial inputs --------------------------------------------------------------------------------------------
POOL = [" ", "\u00a0", "\t", "\n", "a", "A", "1", ".", "-", ":", ";", "(", ")", "'", "x", "_", "/", "@", "\u3000"]
GENERIC: list[Segments] = [
    [(" ", SIZE)],
    [("\u00a0", SIZE)],
    [("\t", SIZE)],
    [("\n", SIZE)],
    [("1", SIZE)],
    [("a", SIZE)],
    [("a", SIZE), ("!", 1)],
    [("A", SIZE)],
    [("a ", SIZE // 2)],
    [("A a", SIZE // 3)],
    [(". ", SIZE // 2)],
    [("a.", SIZE // 2), ("!", 1)],
    [(" \u00a0", SIZE // 2), ("x", 1)],
    [("1 ", SIZE // 2), ("x", 1)],
]
_SAMPLES = {
    sre_c.CATEGORY_DIGIT: "1",
    sre_c.CATEGORY_NOT_DIGIT: "a",
    sre_c.CATEGORY_SPACE: " ",
    sre_c.CATEGORY_NOT_SPACE: "a",
    sre_c.CATEGORY_WORD: "a",
    sre_c.CATEGORY_NOT_WORD: " ",
}


def _accepts(op: Any, av: Any, ch: str, ignore_case: bool) -> bool:
    """Does the one-character node (LITERAL, NOT_LITERAL, ANY, IN, CATEGORY) accept ``ch``?"""
    chars = {ch, ch.lower(), ch.upper()} if ignore_case else {ch}
    if op is sre_c.LITERAL:
        return any(ord(c) == av for c in chars)
    if op is sre_c.NOT_LITERAL:
        return all(ord(c) != av for c in chars)
    if op is sre_c.ANY:
        return ch != "\n"
    if op is sre_c.CATEGORY:
        return re.fullmatch(_category_regex(av), ch) is not None
    if op is sre_c.IN:
        negate = bool(av) and av[0][0] is sre_c.NEGATE
        items = av[1:] if negate else av
        hit = any(_in_item(iop, iav, c) for iop, iav in items for c in chars)
        return hit != negate
    return False


def _in_item(op: Any, av: Any, ch: str) -> bool:
    if op is sre_c.LITERAL:
        return bool(ord(ch) == av)
    if op is sre_c.RANGE:
        return bool(av[0] <= ord(ch) <= av[1])
    if op is sre_c.CATEGORY:
        return re.fullmatch(_category_regex(av), ch) is not None
    return False


def _category_regex(code: Any) -> str:
    names = {
        "DIGIT": r"\d",
        "NOT_DIGIT": r"\D",
        "SPACE": r"\s",
        "NOT_SPACE": r"\S",
        "WORD": r"\w",
        "NOT_WORD": r"\W",
        "LINEBREAK": r"\n",
        "NOT_LINEBREAK": r"[^\n]",
    }
    return names[str(code).replace("CATEGORY_", "").replace("UNI_", "").replace("LOC_", "")]


def _char(op: Any, av: Any, ic: bool) -> str:
    """A character the one-character node accepts: the literal itself, else one of POOL, else a set's first."""
    if op is sre_c.LITERAL:
        return chr(av)
    pooled = next((c for c in POOL if _accepts(op, av, c, ic)), None)
    if pooled is not None:
        return pooled
    if op is sre_c.IN and av and av[0][0] is not sre_c.NEGATE:
        first_op, first_av = av[0]
        return chr(first_av) if first_op is sre_c.LITERAL else chr(first_av[0]) if first_op is sre_c.RANGE else ""
    return ""


def _example(seq: Any, ic: bool) -> str:
    """A short text the node sequence matches (good enough to reach what follows it)."""
    out = []
    for op, av in seq:
        if op in (sre_c.LITERAL, sre_c.NOT_LITERAL, sre_c.ANY, sre_c.IN, sre_c.CATEGORY):
            out.append(_char(op, av, ic))
        elif op is sre_c.BRANCH:
            out.append(_example(av[1][0], ic))
        elif op is sre_c.SUBPATTERN:
            out.append(_example(av[3], ic))
        elif op is sre_c.ATOMIC_GROUP:
            out.append(_example(av, ic))
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT):
            out.append(_example(av[2], ic) * av[0])
    return "".join(out)


def _units(seq: Any, ic: bool) -> list[str]:
    """What a repeated sub-pattern accepts, as units to repeat: its example and its accepted pool characters."""
    units = [_example(seq, ic)]
    if len(seq) == 1 and seq[0][0] in (sre_c.IN, sre_c.CATEGORY, sre_c.ANY, sre_c.NOT_LITERAL, sre_c.LITERAL):
        units += [c for c in POOL if _accepts(seq[0][0], seq[0][1], c, ic)][:2]
    if len(seq) == 1 and seq[0][0] is sre_c.BRANCH:
        units += [_example(b, ic) for b in seq[0][1][1]]
    return list(dict.fromkeys(u for u in units if u))


def _derived(seq: Any, ic: bool, prefix: str = "") -> Iterator[Segments]:
    """For every repeat: text that reaches it, its units repeated to SIZE, then a failing character (or none)."""
    for i, (op, av) in enumerate(seq):
        before = prefix + _example(seq[:i], ic)
        inner: list[Any] = []
        if op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT):
            if av[1] is sre_c.MAXREPEAT or av[1] > 64:
                for n, unit in enumerate(_units(av[2], ic)):
                    run = [(before, 1), (unit, SIZE // len(unit))]
                    yield [*run, ("\x00", 1)]
                    if n == 0:  # and once to the end of the text (for $, fullmatch)
                        yield run
            inner = [av[2]]
        elif op is sre_c.SUBPATTERN:
            inner = [av[3]]
        elif op is sre_c.ATOMIC_GROUP:
            inner = [av]
        elif op is sre_c.BRANCH:
            inner = list(av[1])
        elif op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
            inner = [av[1]]
        for sub in inner:
            yield from _derived(sub, ic, before)


def _literal_runs(seq: Any) -> Iterator[str]:
    """Runs of literal characters in the pattern ("inclusion", "criteria", ...), at any depth."""
    run = ""
    for op, av in seq:
        if op is sre_c.LITERAL:
            run += chr(av)
            continue
        if run:
            yield run
        run = ""
        if op is sre_c.SUBPATTERN:
            yield from _literal_runs(av[3])
        elif op is sre_c.BRANCH:
            for b in av[1]:
                yield from _literal_runs(b)
        elif op in (sre_c.MAX_REPEAT, sre_c.MIN_REPEAT, sre_c.POSSESSIVE_REPEAT, sre_c.ATOMIC_GROUP):
            yield from _literal_runs(av[2] if op is not sre_c.ATOMIC_GROUP else av)
        elif op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
            yield from _literal_runs(av[1])
    if run:
        yield run


def inputs(case: Case) -> list[Segments]:
    """The generic inputs, the pattern's literal runs repeated, and the inputs derived from its repeats."""
    text = case.pattern.decode("latin-1") if isinstance(case.pattern, bytes) else case.pattern
    tree = sre_p.parse(text, case.flags & ~re.DEBUG)
    ic = bool(case.flags & re.IGNORECASE)
    found: list[Segments] = list(GENERIC)
    runs = list(dict.fromkeys(_literal_runs(tree.data)))[:12]
    found += [[(r + " ", SIZE // (len(r) + 1)), ("\x00", 1)] for r in runs]
    if runs:
        found.append([("".join(runs), SIZE // len("".join(runs)))])
    found += list(_derived(tree.data, ic))
    unique: dict[str, Segments] = {}
    for segs in found:
        unique.setdefault(json.dumps(segs), segs)
    return list(unique.values())


# -- the worker: runs one pattern on its inputs, in a subprocess that can be killed --------------------------------
WORKER = r"""
import json, re, sys, time
for line in sys.stdin:
    job = json.loads(line)
    pattern = job["pattern"].encode("latin-1") if job["bytes"] else job["pattern"]
    rx = re.compile(pattern, job["flags"])
    for text_spec, method in job["runs"]:
        text = "".join(unit * (count if count == 1 else max(2, int(count * job["scale"]))) for unit, count in text_spec)
        data = text.encode("utf-8") if job["bytes"] else text
        repl = b"x" if job["bytes"] else "x"
        start = time.perf_counter()
        if method == "finditer":
            n = sum(1 for _ in rx.finditer(data))
        elif method == "sub":
            n = len(rx.sub(repl, data))
        elif method == "split":
            n = len(rx.split(data))
        else:
            n = getattr(rx, method)(data) is not None
        print(json.dumps([time.perf_counter() - start, n]), flush=True)
"""


class Worker:
    """A Python subprocess that runs jobs and is killed (and restarted) when one passes the ceiling."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.lines: queue.Queue[str | None] = queue.Queue()

    def _start(self) -> subprocess.Popen[str]:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", WORKER],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                encoding="utf-8",
            )
            self.lines = queue.Queue()
            threading.Thread(target=self._read, args=(self.proc, self.lines), daemon=True).start()
        return self.proc

    @staticmethod
    def _read(proc: subprocess.Popen[str], lines: queue.Queue[str | None]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def run(self, case: Case, runs: list[tuple[Segments, str]], scale: float, ceiling: float) -> list[float | None]:
        """Seconds per run on the inputs scaled by ``scale``, None for a run killed at the ceiling."""
        times: list[float | None] = []
        while len(times) < len(runs):
            proc = self._start()
            assert proc.stdin is not None
            pattern = case.pattern.decode("latin-1") if isinstance(case.pattern, bytes) else case.pattern
            job = {
                "pattern": pattern,
                "bytes": isinstance(case.pattern, bytes),
                "flags": case.flags,
                "runs": runs[len(times) :],
                "scale": scale,
            }
            proc.stdin.write(json.dumps(job) + "\n")
            proc.stdin.flush()
            while len(times) < len(runs):
                try:
                    line = self.lines.get(timeout=ceiling)
                except queue.Empty:
                    line = None
                if line is None:  # killed at the ceiling (or crashed): record it and go on in a new process
                    self.close()
                    times.append(None)
                    break
                seconds, _ = json.loads(line)
                times.append(seconds)
        return times

    def close(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


CASES, PROBLEMS = collect()


@pytest.fixture(scope="module")
def worker() -> Iterator[Worker]:
    w = Worker()
    yield w
    w.close()


def test_every_pattern_is_collectable() -> None:
    assert not PROBLEMS, "\n".join(PROBLEMS)
    assert len(CASES) >= 60  # every pattern of the package (about 70 when this test was written)


def _describe(segs: Segments) -> str:
    return " + ".join(f"{unit!r}×{count}" if count > 1 else repr(unit) for unit, count in segs if unit)


@pytest.mark.parametrize("case", CASES, ids=[c.where for c in CASES])
def test_pattern_is_linear(case: Case, worker: Worker) -> None:
    runs = [(segs, method) for segs in inputs(case) for method in sorted(case.methods)]
    times = worker.run(case, runs, SMALL / SIZE, SMALL_CEILING)
    _check(case, runs, times, SMALL_CEILING, f"at {SMALL} characters")
    slowest = sorted(range(len(runs)), key=lambda i: times[i] or 0.0, reverse=True)[:FULL_RUNS]
    full = [runs[i] for i in slowest]
    _check(case, full, worker.run(case, full, 1.0, CEILING), CEILING, "at 1 MB")


def _check(case: Case, runs: list[tuple[Segments, str]], times: list[float | None], ceiling: float, size: str) -> None:
    slow = [(segs, method, t) for (segs, method), t in zip(runs, times, strict=True) if t is None or t > ceiling]
    assert not slow, f"{case.where} {case.pattern!r} is super-linear {size} on: " + "; ".join(
        f"{method} on {_describe(segs)} ({'killed' if t is None else f'{t:.1f} s'})" for segs, method, t in slow
    )


# -- the splitter and the page reader, end to end ------------------------------------------------------------------
def run_isolated(code: str, ceiling: float) -> float:
    """Run ``code`` (which prints the seconds its work took) in a fresh interpreter killed at ``ceiling`` + start-up."""
    env = {**os.environ, "PYTHONPATH": str(PACKAGE_DIR.parent)}
    start = time.perf_counter()
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=ceiling + 20, env=env, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {time.perf_counter() - start:.0f} s")
    assert out.returncode == 0, out.stderr[-2000:]
    return float(out.stdout.strip().splitlines()[-1])


# The inputs of the hostile-input run that hung (issue 8), as Python expressions built in the child process.
M = 1_000_000
PAGE = '"T\\nNCT ID: NCT09999999\\n"'
SPLITTER_CASES = {
    "1 MB without structure": f'"word " * {M // 5}',
    "1 M spaces after Inclusion Criteria:": f'"Inclusion Criteria:" + " " * {M} + "x\\n* a"',
    "1 M nbsp after Exclusion": f'"Exclusion" + "\\u00a0" * {M} + "x"',
    "1 M spaces after a qualifier": f'"Exclusion criteria for cohort B" + " " * {M} + "x"',
    "1 M nbsp after a dash qualifier": f'"Inclusion criteria -" + "\\u00a0" * {M} + ":x"',
    "20 k one-word lines": '"word\\n" * 20_000 + "Word\\n" * 20_000',
}
PAGE_CASES = {
    "1 M-line page": f'{PAGE} + "Detailed Description\\n" + "x\\n" * {M}',
    "1 M spaces in endpoint prose": f'{PAGE} + "Brief Summary\\nThe primary endpoint is" + " " * {M} + "x use"'
    f' + "\\u00a0" * {M} + "y\\n"',
    "1 M spaces in an objective": f'{PAGE} + "Summary\\n1. Primary Objective to" + " " * {M} + "Assessments include: A"'
    f' + " " * {M} + ";" + " b" * {M // 2} + "\\n"',
    "1 MB flat list": f'{PAGE} + "Summary\\nSecondary Objectives include: " + "Alpha beta " * {M // 11} + "\\n"',
    "1 MB of verbs": f'{PAGE} + "Summary\\n" + "uses " * {M // 5} + "x as the primary endpoint\\n"',
    "1 M spaces in field lines": f'{PAGE} + "Last Updated" + " " * {M} + "\\nCentral Contacts\\nDr A\\nRole: CONTACT\\n'
    f'1    1x" + " " * {M} + "y\\n" + "a@" + "@" * {M} + "\\n"',
}
SLOW_PAGE_CASES = {
    "333 k repeated sections": f'{PAGE} + "Recruitment Status\\nRECRUITING\\nleft over\\n" * {M // 3}',
    "1 M lines under one arm": f'{PAGE} + "Study Groups\\nA\\nGroup Type: EXPERIMENTAL\\nDrug X\\n'
    f'Intervention Type: DRUG\\n" + "shown\\n" * {M}',
    "200 k arms": f'{PAGE} + "Study Groups\\n" + "".join(f"A{{i}}\\nGroup Type: X\\nDrug\\nIntervention Type: DRUG\\n"'
    f" for i in range(200_000))",
}
E2E_CEILING = 60.0  # seconds: pure-Python work per line on 1 M lines takes seconds on a loaded machine, a hang hours


def _timed(call: str, text: str) -> str:
    return (
        f"import time\nfrom fhir_adapter.sources.criteria import split_criteria\n"
        f"from fhir_adapter.sources.text_page import read_text_page\ntext = {text}\n"
        f"start = time.perf_counter()\n{call}(text)\nprint(time.perf_counter() - start)\n"
    )


@pytest.mark.parametrize("text", SPLITTER_CASES.values(), ids=SPLITTER_CASES.keys())
def test_splitter_is_linear(text: str) -> None:
    assert run_isolated(_timed("split_criteria", text), E2E_CEILING) < E2E_CEILING


@pytest.mark.parametrize("text", PAGE_CASES.values(), ids=PAGE_CASES.keys())
def test_page_reader_is_linear(text: str) -> None:
    assert run_isolated(_timed("read_text_page", text), E2E_CEILING) < E2E_CEILING


@pytest.mark.slow
@pytest.mark.parametrize("text", SLOW_PAGE_CASES.values(), ids=SLOW_PAGE_CASES.keys())
def test_page_reader_is_linear_on_repeated_structure(text: str) -> None:
    assert run_isolated(_timed("read_text_page", text), E2E_CEILING) < E2E_CEILING
