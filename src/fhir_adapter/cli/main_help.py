"""``fhir-adapter --help`` without typer (issue 14: at most 150 ms; importing typer is most of the start-up).

The main help is plain text made from ``COMMANDS``, ``ENVIRONMENT`` and ``EXAMPLES`` (``fhir_adapter.cli``), laid out
as typer's (click's) help formatter lays it out. This module writes it only where that layout is certain: the
``fhir-adapter`` script, a help width of 78 columns (click's on a terminal of 80 columns or more, and off a
terminal: ``min(columns, 80) - 2``), no shell-completion request, and no word too long for its column (click breaks
those its own way). Anywhere else ``main_help_text`` returns None and typer writes the help.
tests/test_cli_main_help.py compares both, byte for byte.
"""

from __future__ import annotations

import os
import sys
from textwrap import TextWrapper

from fhir_adapter.cli import COMMANDS, ENVIRONMENT, EXAMPLES, SUMMARY, VERSION_HELP

PROGRAM = "fhir-adapter"
WIDTH = 78
HELP_HELP = "Show this message and exit."  # click's own --help text
FOOTER = f"`{PROGRAM} COMMAND --help` describes a command and its options."
_COL_MAX, _COL_SPACING, _INDENT = 30, 2, 2  # click's HelpFormatter.write_dl defaults, and its indent step


def main_help_text() -> str | None:
    """The main help as typer writes it (with its final newline), or None where its layout is not certain."""
    if not _as_script() or _columns() < WIDTH + 2 or f"_{PROGRAM.replace('-', '_').upper()}_COMPLETE" in os.environ:
        return None
    options = definition_list({"--version": VERSION_HELP, "--help": HELP_HELP})
    commands = definition_list(COMMANDS)
    settings = definition_list(ENVIRONMENT)
    if options is None or commands is None or settings is None or len(SUMMARY) + _INDENT > WIDTH:
        return None
    lines = [f"Usage: {PROGRAM} [OPTIONS] COMMAND [ARGS]...", "", " " * _INDENT + SUMMARY]
    lines += ["", "Options:", *options, "", "Commands:", *commands]
    lines += ["", "Examples:", *[" " * _INDENT + e for e in EXAMPLES]]
    lines += ["", "Settings read from the environment:", *settings, "", FOOTER]
    if any(len(line) > WIDTH for line in [*EXAMPLES, FOOTER]):
        return None
    return "\n".join(lines) + "\n"


def definition_list(rows: dict[str, str]) -> list[str] | None:
    """The lines of click's ``write_dl`` of ``rows`` in a section (indented 2); None if a word is too long for the
    second column."""
    first_col = min(max(len(term) for term in rows), _COL_MAX) + _COL_SPACING
    text_width = max(WIDTH - first_col - 2, 10)
    wrapper = TextWrapper(text_width, replace_whitespace=False)
    hang = " " * (first_col + _INDENT)
    lines = []
    for term, text in rows.items():
        if any(len(word) > text_width for word in text.split()):
            return None
        wrapped = wrapper.wrap(text)
        if len(term) <= first_col - _COL_SPACING:
            lines.append(" " * _INDENT + term + " " * (first_col - len(term)) + wrapped[0])
        else:
            lines += [" " * _INDENT + term, hang + wrapped[0]]
        lines += [hang + line for line in wrapped[1:]]
    return lines


def _as_script() -> bool:
    """Whether this is the ``fhir-adapter`` script (click names the program after ``sys.argv[0]`` then; under
    ``python -m`` it is ``python -m fhir_adapter``)."""
    main = sys.modules.get("__main__")
    return getattr(main, "__package__", None) in (None, "") and os.path.basename(sys.argv[0]) == PROGRAM


def _columns() -> int:
    """The terminal's columns as ``shutil.get_terminal_size`` tells them (``COLUMNS``, else standard output's
    terminal, else 80), without importing shutil."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80
