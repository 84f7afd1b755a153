"""Section handlers of a trial page's arms ("Study Groups") and interventions, and the link between them (see
``text_page/__init__.py``)."""

from __future__ import annotations

import re

from fhir_adapter.model import Arm, Intervention
from fhir_adapter.sources.text_page.page import Page, Section, token, walk_pairs

_GROUP_TYPE = re.compile(r"Group Type\s*(?::\s*)?(\S+)")
_INTERVENTION_TYPE = re.compile(r"Intervention Type\s*(?::\s*)?(\S+)")

# An arm being read: the arm, its description lines, its interventions (name, type, lines shown under the arm)
_Group = tuple[Arm, list[str], list[tuple[str, str | None, list[str]]]]


def groups(page: Page, sec: Section) -> list[str]:
    left: list[str] = []
    # lines are collected and joined once per arm and intervention (joining per line is quadratic)
    found: list[_Group] = []

    def take(line: str, nxt: str) -> bool:
        gm = _GROUP_TYPE.fullmatch(nxt)
        if gm is not None:  # "<label>" then "Group Type EXPERIMENTAL"
            found.append((Arm(label=line, type=token(gm.group(1))), [], []))
            return True
        im = _INTERVENTION_TYPE.fullmatch(nxt)
        if found and im is not None:  # "<name>" then "Intervention Type DRUG", under an arm
            found[-1][2].append((line, token(im.group(1)), []))
            return True
        if not found:
            left.append(line)
        elif found[-1][2]:
            found[-1][2][-1][2].append(line)
        else:
            found[-1][1].append(line)
        return False

    walk_pairs(sec.texts, take)
    for arm, desc, ivs in found:
        if desc:
            arm.description = "\n".join(desc)
        page.group_arms.append((arm, [(name, typ, "\n".join(shown) or None) for name, typ, shown in ivs]))
    return left


def interventions(page: Page, sec: Section) -> list[str]:
    runs, left = page.named_runs(sec, _INTERVENTION_TYPE, "intervention type line without an intervention name")
    for lines, kind in runs:
        description = "\n".join(lines[1:]) or None
        page.trial.interventions.append(Intervention(name=lines[0], type=token(kind.group(1)), description=description))
    return left


def link_arms(page: Page) -> None:
    """The arms of "Study Groups" into the Trial, each linked both ways with the interventions shown under it (an
    intervention the "Interventions" section does not list is added)."""
    trial = page.trial
    by_name = {iv.name: iv for iv in trial.interventions}
    labels = {id(iv): set(iv.arm_labels) for iv in trial.interventions}  # a set: linear in the arms
    for arm, ivs in page.group_arms:
        described = [arm.description] if arm.description else []
        for name, typ, shown in ivs:
            iv = by_name.get(name)
            if iv is None:
                iv = Intervention(name=name, type=typ, description=shown)
                trial.interventions.append(iv)
                by_name[name] = iv
                labels[id(iv)] = set()
            elif shown and shown != iv.description:
                # text under the arm that is not the intervention's own description: the arm's description
                described.append(shown)
            if arm.label not in labels[id(iv)]:
                labels[id(iv)].add(arm.label)
                iv.arm_labels.append(arm.label)
            kind = (typ or iv.type or "OTHER").replace("_", " ").title()
            arm.intervention_names.append(f"{kind}: {name}")
        if described:
            arm.description = "\n".join(described)
        trial.arms.append(arm)
