"""The service list: the taxonomy's active leaves, their required fields as Open311 attributes."""

from __future__ import annotations

from citybackend.settings import Service
from taxonomy.model import Taxonomy


def services_from_taxonomy(taxonomy: Taxonomy) -> list[Service]:
    services = []
    for leaf in taxonomy.leaves():
        group = leaf.path[0] if leaf.path else ""
        services.append(
            Service(code=leaf.code, name=leaf.name, group=group, required_fields=leaf.required_fields)
        )
    return services
