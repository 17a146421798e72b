"""Builtins an Architect expression can read (catalog/builtins.yaml), per flow type and channel, and the
properties readable on values of some types.

`Message.*` exists in message flows (`inboundShortMessage`); some members carry a value only on one channel
(e.g. `Message.IsAuthenticated` on web messaging). Variables are `Flow.`, `State.` and `Task.` names; which
prefixes a flow type has is in `variable_scopes`. Names match case-insensitively, as in Architect. Each
entry names its source in the catalog file.
"""

from __future__ import annotations

import re
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
class Member:
    name: str
    type: ArchType
    source: str


@dataclass(frozen=True)
class BuiltinCatalog:
    builtins: Mapping[str, Builtin]  # by casefolded name
    members: Mapping[str, Mapping[str, Member]]  # type name -> casefolded member name ("*": any) -> member
    variable_scopes: Mapping[str, tuple[str, ...]]  # flow type -> variable prefixes ("Flow", "Task", "State")

    def builtin(self, name: str) -> Builtin | None:
        return self.builtins.get(name.casefold())

    def member(self, owner: ArchType, name: str) -> Member | None:
        table = self.members.get(owner.name, {})
        return table.get(name.casefold()) or table.get("*")

    def scope_prefix(self, flow_type: str, head: str) -> str | None:
        """The variable prefix (`Flow`, `State`, `Task`) `head` names in a flow of `flow_type`, in any case."""
        for prefix in self.variable_scopes.get(flow_type, ()):
            if prefix.casefold() == head.casefold():
                return prefix
        return None


def _expand(text: str, sources: Mapping[str, str], where: str) -> str:
    keys = [k for k in sources if re.search(rf"\b{re.escape(k)}\b", text)]
    if not keys:
        raise ValueError(f"builtins.yaml: {where}: source {text!r} names no known source")
    return text + "".join(f" [{k} = {sources[k]}]" for k in keys)


@lru_cache(maxsize=1)
def builtin_catalog() -> BuiltinCatalog:
    """The builtins catalog, loaded once."""
    text = resources.files("genesys_identity.architect").joinpath("catalog/builtins.yaml").read_text(encoding="utf-8")
    loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    raw = yaml.load(text, Loader=loader)
    sources: dict[str, str] = raw["sources"]
    builtins: dict[str, Builtin] = {}
    for name, body in raw["builtins"].items():
        channels = body.get("channels")
        builtins[name.casefold()] = Builtin(
            name=name,
            type=type_named(body["type"]),
            flow_types=frozenset(body["flow_types"]),
            channels=None if channels is None else frozenset(channels),
            source=_expand(str(body.get("source") or ""), sources, name),
        )
    members: dict[str, dict[str, Member]] = {}
    for owner, table in raw["members"].items():
        type_named(owner)  # a typo in the catalog fails here, not at a user's expression
        members[owner] = {
            member.casefold(): Member(
                member, type_named(spec["type"]), _expand(str(spec.get("source") or ""), sources, f"{owner}.{member}")
            )
            for member, spec in table.items()
        }
    scopes = {flow_type: tuple(prefixes) for flow_type, prefixes in raw["variable_scopes"].items()}
    return BuiltinCatalog(builtins, members, scopes)


def lookup(name: str, flow_type: str, channel: str | None) -> ArchType:
    """The type of builtin `name` in a flow of `flow_type` on `channel` (None: the channel is not known, so a
    builtin of any channel of the flow type is accepted).

    Raises KeyError with a one-line reason when the builtin is unknown or not available there."""
    builtin = builtin_catalog().builtin(name)
    if builtin is None:
        raise KeyError(f"unknown builtin {name}")
    if flow_type not in builtin.flow_types:
        raise KeyError(f"builtin {builtin.name} does not exist in a {flow_type} flow")
    if builtin.channels is not None and channel is not None and channel not in builtin.channels:
        raise KeyError(f"builtin {builtin.name} is documented only for {', '.join(sorted(builtin.channels))}, not {channel}")
    return builtin.type
