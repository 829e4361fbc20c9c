"""What the backend app is given: its database, its service list and the api keys it accepts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa


@dataclass(frozen=True)
class Service:
    """One Open311 service: a taxonomy leaf, with its required fields as attributes."""

    code: str
    name: str
    group: str
    required_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class BackendSettings:
    """What the app needs; passed in, never global."""

    engine: sa.Engine
    services: Sequence[Service]
    api_keys: Sequence[str]
    jurisdiction_id: str = "anshan"
