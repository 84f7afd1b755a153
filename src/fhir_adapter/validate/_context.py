"""The FHIRPath evaluation context of the profile layer, made only when fhirpathpy evaluates an invariant."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _node(data: Any, path: str) -> Any:
    """fhirpathpy's node of ``data`` (fhirpathpy is imported when an invariant first needs it: ~0.5 s of start-up)."""
    from fhirpathpy.engine.nodes import ResourceNode

    create: Callable[..., Any] = ResourceNode.create_node  # fhirpathpy is untyped
    return create(data, path)


class Context:
    """``%resource`` and ``%rootResource`` of the constraints of one resource, made only if fhirpathpy needs them."""

    __slots__ = ("_made", "resource", "root")

    def __init__(self, resource: dict[str, Any], root: dict[str, Any]) -> None:
        self.resource, self.root = resource, root
        self._made: dict[str, Any] | None = None

    def get(self) -> dict[str, Any]:
        if self._made is None:
            node = _node(self.resource, self.resource["resourceType"])
            root = node if self.root is self.resource else _node(self.root, self.root["resourceType"])
            self._made = {"resource": node, "rootResource": root}
        return self._made
