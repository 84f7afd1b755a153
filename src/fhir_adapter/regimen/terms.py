"""The regimen vocabulary, ``mappings/regimen-terms.json``, read once: route words -> route key (with its SNOMED CT
code and source for the FHIR mappers), frequency words -> (count, period, UCUM unit), dose units as written -> UCUM,
time words -> UCUM time codes, radiotherapy techniques, words that are never drug names, number words.

The computable contract (docs/computable.md section 2) says which FHIR element each of these fills
(https://hl7.org/fhir/R5/dosage.html).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from fhir_adapter.terminology import mappings_dir

__all__ = ["Terms", "key", "terms"]

TERMS_FILE = "regimen-terms.json"
# Unit as written -> lookup key: lower case, no spaces, no '^', superscript two as 2 ("mg/m²" -> "mg/m2").
UNIT_NOISE = re.compile(r"[\s^]")


@dataclass(frozen=True, slots=True)
class Terms:
    """The tables of ``mappings/regimen-terms.json`` in look-up form, with the alternations built from their words."""

    routes: dict[str, dict[str, Any]]  # route key -> {"snomed", "display", "source", "words"}
    route_words: dict[str, str]  # word (lower case) -> route key
    frequencies: dict[str, tuple[int, float, str]]
    units: dict[str, str]
    time_units: dict[str, str]
    procedures: dict[str, dict[str, str]]
    techniques: dict[str, str]  # look-up form -> as the table writes it
    salts: frozenset[str]
    not_drugs: frozenset[str]
    numbers: dict[str, int]

    def unit(self, written: str) -> str | None:
        """The UCUM code of a dose unit as written ("mg/m²" -> "mg/m2"), None when the table lacks it."""
        return self.units.get(UNIT_NOISE.sub("", written.lower()).replace("²", "2"))

    def number(self, written: str) -> int | None:
        """A count written in digits or as a word ("two" -> 2)."""
        if written.isdigit():
            return int(written)
        return self.numbers.get(written.lower())


def key(word: str) -> str:
    """The look-up form of a word or phrase: lower case, without a final full stop ("p.o." -> "p.o")."""
    return word.lower().rstrip(".")


@cache
def terms() -> Terms:
    """The regimen vocabulary (read once)."""
    with (mappings_dir() / TERMS_FILE).open(encoding="utf-8") as fh:
        raw = json.load(fh)
    routes = raw["routes"]
    route_words = {key(w): name for name, entry in routes.items() for w in entry["words"]}
    frequencies = {key(w): (int(v[0]), float(v[1]), str(v[2])) for w, v in raw["frequencies"].items() if w[0] != "_"}
    return Terms(
        routes=routes,
        route_words=route_words,
        frequencies=frequencies,
        units={k: v for k, v in raw["units"].items() if k[0] != "_"},
        time_units={k: v for k, v in raw["time_units"].items() if k[0] != "_"},
        procedures=raw["procedures"],
        techniques={key(w): w for w in raw["rt_techniques"]},
        salts=frozenset(raw["salts"]),
        not_drugs=frozenset(raw["not_drugs"]),
        numbers=dict(raw["number_words"]),
    )
