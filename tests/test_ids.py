"""``fhir.ids.resource_id`` is ``str(uuid.uuid5(NAMESPACE, "<nct>/<kind>/<key>"))`` (RFC 4122 section 4.3), however it
computes it."""

from __future__ import annotations

import random
import uuid

from fhir_adapter.fhir.ids import NAMESPACE, resource_id


def test_resource_id_is_the_uuid5_of_its_name() -> None:
    rng = random.Random(14)
    alphabet = "NCT0123456789abc-/#é "
    for _ in range(5000):
        nct, key = (
            "".join(rng.choices(alphabet, k=rng.randrange(14))),
            "".join(rng.choices(alphabet, k=rng.randrange(9))),
        )
        kind = rng.choice(("ResearchStudy", "Location", "EvidenceVariable", ""))
        assert resource_id(nct, kind, key) == str(uuid.uuid5(NAMESPACE, f"{nct}/{kind}/{key}"))
    assert resource_id("NCT00000001", "Bundle") == str(uuid.uuid5(NAMESPACE, "NCT00000001/Bundle/"))
