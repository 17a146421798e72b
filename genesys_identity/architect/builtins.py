"""Builtins an Architect expression can read (catalog/builtins.yaml), per flow type and channel.

`Message.*` exists in message flows (`inboundShortMessage`); some members only on one channel (e.g.
`Message.IsAuthenticated` on web messaging). Variables are `Flow.`, `State.` and `Task.` names; which
prefixes a flow type has is in `variable_scopes`. Each builtin names its source in the catalog file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from genesys_identity.architect.types import ArchType, type_named


@dataclass(frozen=True)
class Builtin:
    name: str
    type: ArchType
    flow_types: frozenset[str]
    channels: frozenset[str] | None  # None: every channel of its flow types
    source: str


@dataclass(frozen=True)
class BuiltinCatalog:
    builtins: Mapping[str, Builtin]
    variable_scopes: Mapping[str, tuple[str, ...]]  # flow type -> variable prefixes ("Flow", "Task", "State")

    def prefixes(self) -> frozenset[str]:
        """The first names of every builtin (`Message`, ...)."""
        return frozenset(name.split(".", 1)[0] for name in self.builtins)


@lru_cache(maxsize=1)
def builtin_catalog() -> BuiltinCatalog:
    """The builtins catalog, loaded once."""
    text = resources.files("genesys_identity.architect").joinpath("catalog/builtins.yaml").read_text(encoding="utf-8")
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = yaml.load(text, Loader=loader)
    builtins: dict[str, Builtin] = {}
    for name, body in raw["builtins"].items():
        if not body.get("source"):
            raise ValueError(f"builtins.yaml: {name}: no source")
        channels = body.get("channels")
        builtins[name] = Builtin(
            name=name,
            type=type_named(body["type"]),
            flow_types=frozenset(body["flow_types"]),
            channels=None if channels is None else frozenset(channels),
            source=str(body["source"]),
        )
    scopes = {flow_type: tuple(prefixes) for flow_type, prefixes in raw["variable_scopes"].items()}
    return BuiltinCatalog(builtins, scopes)


def lookup(name: str, flow_type: str, channel: str | None) -> ArchType:
    """The type of builtin `name` in a flow of `flow_type` on `channel` (None: the channel is not known, so
    a builtin of any channel of the flow type is accepted).

    Raises KeyError with a one-line reason when the builtin is unknown or not available there."""
    cat = builtin_catalog()
    builtin = cat.builtins.get(name)
    if builtin is None:
        raise KeyError(f"unknown builtin {name}")
    if flow_type not in builtin.flow_types:
        raise KeyError(f"builtin {name} does not exist in a {flow_type} flow")
    if builtin.channels is not None and channel is not None and channel not in builtin.channels:
        raise KeyError(f"builtin {name} is not set on {channel} (only {', '.join(sorted(builtin.channels))})")
    return builtin.type
