"""Computable criteria (Criterion.combine, heading_exclude, definition = Atom / AtomGroup) through FHIR R5
EvidenceVariable and the R4 enrollment Group, both ways: the computable contract (docs/computable.md) section 1."""

from __future__ import annotations

import pytest

from fhir_adapter.bundle import from_bundle, to_bundle
from fhir_adapter.model import Criterion, Eligibility, Trial

RELEASES = ["R5", "R4"]


def _trial(criteria: list[Criterion]) -> Trial:
    return Trial(
        nct_id="NCT09000001",
        brief_title="Atoms",
        overall_status="RECRUITING",
        eligibility=Eligibility(criteria=criteria),
    )


@pytest.mark.parametrize("release", RELEASES)
def test_any_of_sub_list_and_child_exclude_survive(release: str) -> None:
    """An "any of the following" sub-list keeps any-of; a sub-item of an exclusion item keeps exclude False, an
    "except:" sub-item True; nested sub-lists keep their own combination."""
    crit = [
        Criterion(
            "Any of the following:",
            exclude=True,
            combine="any-of",
            children=[
                Criterion("Uncontrolled hypertension"),
                Criterion(
                    "Prior therapy, except:",
                    combine="any-of",
                    children=[Criterion("hormonal therapy", exclude=True), Criterion("radiotherapy", exclude=True)],
                ),
            ],
        ),
        Criterion("All of:", children=[Criterion("a"), Criterion("b", exclude=True)]),
        Criterion("Mucosal melanomas are excluded.", exclude=True, heading_exclude=False),
    ]
    trial = _trial(crit)
    assert from_bundle(to_bundle(trial, release)) == trial
