"""The vendored provider schema (see SOURCE.md), loaded once into typed, read-only objects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

SCHEMA_FILE = "genesyscloud-schema-1.84.1.json"


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str  # String | Number | Boolean | "List of String" | "Set of String" | "Map of String"
    required: bool
    optional: bool
    computed: bool
    sensitive: bool
    force_new: bool
    valid_values: tuple[str, ...] | None

    @property
    def read_only(self) -> bool:
        return self.computed and not self.optional and not self.required

    @property
    def collection(self) -> str | None:
        """``list``, ``set`` or ``map`` for collection types, else None."""
        for kind in ("List", "Set", "Map"):
            if self.type.startswith(kind + " of "):
                return kind.lower()
        return None

    @property
    def element_type(self) -> str:
        return self.type.split(" of ", 1)[1] if self.collection else self.type


@dataclass(frozen=True)
class Block:
    """A resource, the provider configuration, or a nested block: attributes and blocks by Terraform name."""

    name: str
    attributes: dict[str, Attribute]
    blocks: dict[str, Block]
    nesting: str = "single"
    min_items: int = 0
    max_items: int | None = 1
    required: bool = False

    @property
    def single(self) -> bool:
        """A Max: 1 block, which a generated SDK flattens to one object."""
        return self.max_items == 1

    def names(self) -> set[str]:
        return set(self.attributes) | set(self.blocks)


@dataclass(frozen=True)
class ProviderSchema:
    version: str
    commit: str
    provider: Block
    resources: dict[str, Block]
    region_domains: dict[str, str]

    def resource(self, terraform_type: str) -> Block:
        try:
            return self.resources[terraform_type]
        except KeyError:
            known = ", ".join(sorted(self.resources))
            from genesys_identity.errors import SchemaViolation

            raise SchemaViolation(
                f"{terraform_type}: not a resource of provider {self.version} in the vendored schema "
                f"(known: {known})"
            ) from None


def _attribute(name: str, raw: dict[str, Any]) -> Attribute:
    values = raw.get("valid_values")
    return Attribute(
        name=name,
        type=raw["type"],
        required=bool(raw["required"]),
        optional=bool(raw["optional"]),
        computed=bool(raw["computed"]),
        sensitive=bool(raw["sensitive"]),
        force_new=bool(raw.get("force_new")),
        valid_values=tuple(values) if values else None,
    )


def _block(name: str, raw: dict[str, Any], *, top: bool = False) -> Block:
    return Block(
        name=name,
        attributes={n: _attribute(n, a) for n, a in raw.get("attributes", {}).items()},
        blocks={n: _block(n, b) for n, b in raw.get("blocks", {}).items()},
        nesting="single" if top else raw["nesting"],
        min_items=0 if top else int(raw["min_items"]),
        max_items=1 if top else raw["max_items"],
        required=False if top else bool(raw["required"]),
    )


@cache
def load() -> ProviderSchema:
    raw = json.loads(resources.files(__name__).joinpath(SCHEMA_FILE).read_text(encoding="utf-8"))
    source = raw["source"]
    return ProviderSchema(
        version=source["git_describe"].removeprefix("v"),
        commit=source["provider_version_commit"],
        provider=_block("provider", raw["provider"], top=True),
        resources={n: _block(n, r, top=True) for n, r in raw["resources"].items()},
        region_domains=dict(raw["provider"]["attributes"]["aws_region"]["region_domains"]),
    )
