"""Option values without pydantic (issue 14: start-up).

typer 0.29 coerces every value of every parameter, given or default, through a pydantic ``TypeAdapter`` it builds per
parameter (``typer._coercion.build_runtime_param``): importing pydantic and building an adapter for each of
``convert``'s 14 parameters costs about 200 ms of a one-file run. ``quicken(command)`` gives each parameter a coercion
that takes the values whose result is certain itself -- a ``str`` for a ``str``, plain digits or an ``int`` within
the bounds for an ``int``, a plain decimal or a finite number within the bounds for a ``float``, an enum member or
name (typer's own ``coerce_cli_choice``), a path (typer's own ``coerce_cli_path``), a value the parameter's own parser
accepts -- and hands every other value to typer's pydantic coercion, built then: the same values, and the same errors
(tests/test_cli_coerce.py compares both on every parameter of every command).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._param_types import choice_coercion_annotation, coerce_cli_choice, coerce_cli_path, routes_to_path
from typer.core import _TyperParameter
from typer.models import ParameterInfo

_UNSURE = object()  # a value left to typer's own coercion
_DIGITS = re.compile(r"0|[1-9][0-9]{0,17}")  # an int both int() and pydantic read the same way
_DECIMAL = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,15})?")  # a float both float() and pydantic round the same way


@dataclass(frozen=True)
class QuickParam(RuntimeParam):
    """A parameter's coercion: the certain values here, the others through typer's (pydantic) coercion."""

    descriptor: TypeDescriptor

    def _coerce_value(self, value: Any, param: _TyperParameter, ctx: Any) -> Any:
        try:
            quick = quick_value(self.annotation, self.parameter_info, value, ctx)
        except Exception:  # typer's coercion raises its own error for this value
            quick = _UNSURE
        if quick is not _UNSURE:
            return quick
        return build_runtime_param(self.descriptor)._coerce_value(value, param=param, ctx=ctx)


def quicken(command: Any) -> Any:
    """``command`` (a click command typer built) with a ``QuickParam`` for each of its typer parameters (its help
    option is made later, on first use: ``quick_param`` it then)."""
    for param in command.params:
        quick_param(param)
    return command


def quick_param(param: Any) -> Any:
    """``param`` with a ``QuickParam`` if it is a typer parameter whose coercion is not built yet."""
    if isinstance(param, _TyperParameter) and param._runtime_param is None:
        descriptor = param.type_descriptor
        param._runtime_param = QuickParam(descriptor.parameter_info, descriptor.annotation, descriptor)
    return param


def quick_value(annotation: Any, info: ParameterInfo, value: Any, ctx: Any) -> Any:
    """The coerced value, or ``_UNSURE`` when typer's coercion must decide (a list: every item certain)."""
    if get_origin(annotation) is list:
        if not isinstance(value, (list, tuple)):
            return _UNSURE
        (item_type,) = get_args(annotation)
        items = [leaf_value(item_type, info, item, ctx) for item in value]
        return _UNSURE if any(item is _UNSURE for item in items) else items
    return leaf_value(annotation, info, value, ctx)


def leaf_value(annotation: Any, info: ParameterInfo, value: Any, ctx: Any) -> Any:
    """One value of a parameter, in the order of typer's ``build_leaf_adapter``; ``_UNSURE`` for the rest."""
    if info.parser is not None:
        return info.parser(value)
    choices = choice_coercion_annotation(annotation, info)
    if choices is not None:
        return coerce_cli_choice(value, choices=choices[0], case_sensitive=choices[1], ctx=ctx)
    if annotation is int or annotation is float:
        return number_value(annotation, info, value)
    if annotation is str:
        return value if type(value) is str else _UNSURE
    if annotation is Path and routes_to_path(annotation, info) and info.path_type is None:
        if type(value) is str and value:
            value = Path(value)
        return coerce_cli_path(value, info, path_type=Path, ctx=ctx) if isinstance(value, Path) else _UNSURE
    return _UNSURE


def number_value(annotation: type[int] | type[float], info: ParameterInfo, value: Any) -> Any:
    """An ``int`` or ``float`` option's value within its bounds (``min``/``max``, not clamped); ``_UNSURE`` else."""
    if info.clamp:
        return _UNSURE
    if type(value) is str:
        pattern = _DIGITS if annotation is int else _DECIMAL
        number: Any = annotation(value) if pattern.fullmatch(value) else None
    elif type(value) is int or (type(value) is float and annotation is float and math.isfinite(value)):
        number = annotation(value)
    else:
        number = None
    if number is None or (info.min is not None and number < info.min) or (info.max is not None and number > info.max):
        return _UNSURE
    return number
