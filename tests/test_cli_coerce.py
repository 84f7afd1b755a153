"""fhir_adapter.cli.coerce: every parameter of every command (and its help option) coerces a value as typer's own
pydantic coercion does -- the same value of the same type, or the same error -- given values and defaults alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer._click.core import Context
from typer._coercion import build_runtime_param
from typer.core import _TyperParameter

from fhir_adapter.cli import COMMANDS, app, load_command
from fhir_adapter.cli.coerce import QuickParam

WORDS = ["0", "1", "7", "8", "999", "1000", "1001", "-1", "-0", "007", "00", "+3", "1_000", "1e3", "１２", "٣"]
WORDS += ["0.5", "0.001", "0.0009", "0.0010", "30", "30.0", ".5", "5.", "1e-3", "inf", "nan", "-inf", " 5", "5 ", ""]
WORDS += ["x", "abc", "R4", "r4", "R5", "4.0", "5.0.0", "4.0.1", "collection", "TRANSACTION", "json", "text", "fast"]
WORDS += ["hapi", "fhir.resources", "ES384", "batch", "-", "/tmp", "a/../b/", "~", ".", "NCT00763412", "ü", "\x1b"]
WORDS += ["2024-01-02", "123456789012345678", "1234567890123456789", "1" * 40, "0." + "3" * 20]
NATIVE: list[Any] = [0, 1, 5, -2, 2000, 0.0, 0.5, 30.0, float("inf"), float("nan"), True, False, Path("x"), b"x"]


def _outcome(parameter: Any, coercion: Any, value: Any, ctx: Context) -> tuple[Any, ...]:
    try:
        result = coercion.coerce(value, param=parameter, ctx=ctx)
    except Exception as e:  # the error is part of the outcome compared
        return ("error", type(e), str(e))
    if isinstance(result, float) and result != result:
        return ("nan", type(result))
    items = result if isinstance(result, list) else [result]
    return ("ok", type(result), [type(i) for i in items], result)


def _parameters() -> list[tuple[str, Any, Any]]:
    commands = [("(root)", typer_root())] + [(name, load_command(name)) for name in COMMANDS]
    found = []
    for name, command in commands:
        ctx = Context(command)
        for parameter in command.get_params(ctx):
            if isinstance(parameter, _TyperParameter):
                found.append((f"{name} {parameter.name}", command, parameter))
    return found


def typer_root() -> Any:
    import typer.main

    return typer.main.get_command(app)


@pytest.mark.parametrize(
    ("label", "command", "parameter"), _parameters(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_each_value_is_coerced_as_typer_coerces_it(label: str, command: Any, parameter: Any) -> None:
    quick = parameter.get_runtime_param()
    assert isinstance(quick, QuickParam), label
    typer_own = build_runtime_param(parameter.type_descriptor)
    ctx = Context(command)
    many = parameter.multiple or parameter.nargs == -1
    values: list[Any] = [*WORDS, *NATIVE, parameter.default]
    if many:
        values = [(), None, *[(v,) for v in values], tuple(WORDS[:12]), ["1", "x"], "1"]
    for value in values:
        expected = _outcome(parameter, typer_own, value, ctx)
        assert _outcome(parameter, quick, value, ctx) == expected, (label, value)
