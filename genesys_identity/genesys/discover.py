"""Read the Messenger OIDC integration type's names from a Genesys Cloud org.

No public source gives the "OpenID Connect Messenger Configuration" integration type's id, its property
keys, its credential slot or its credential type. The org answers them:

- ``GET /api/v2/integrations/types`` (``IntegrationType``: ``id``, ``name``, and ``credentials``, the slots
  by key, each a ``CredentialSpecification`` with its ``credentialTypes``);
- ``GET /api/v2/integrations/types/{id}/configschemas/properties`` (``JsonSchemaDocument``: the property
  keys with their titles and descriptions, and ``required``);
- ``GET /api/v2/integrations/credentials/types`` (``CredentialType``: ``name``, ``properties`` by field).

``discover`` picks the values the stack pins (``oidc*`` settings) and refuses to guess: a property, slot or
field that is missing or ambiguous is an error that lists what the org offered.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genesys_identity.errors import GenesysIdentityError
from genesys_identity.files import write_atomically
from genesys_identity.genesys.rest import GenesysApiClient
from genesys_identity.settings import OIDC_SCHEMA_KEYS, OidcIntegrationSchema

TYPE_NAME = "OpenID Connect Messenger Configuration"
PROJECT = "genesys-identity"


class DiscoveryError(GenesysIdentityError):
    """The org's answers do not settle a value; the message lists what the org offered."""


@dataclass(frozen=True)
class Discovery:
    type_id: str
    type_name: str
    schema: OidcIntegrationSchema
    properties: dict[str, Any]  # the whole properties schema, printed for the record

    def settings(self) -> dict[str, str]:
        """The stack settings to pin, in ``Pulumi.<stack>.yaml`` key order."""
        return {"oidcIntegrationTypeId": self.type_id,
                **{key: getattr(self.schema, field) for key, field in OIDC_SCHEMA_KEYS}}


def _one(what: str, candidates: list[str], offered: list[str]) -> str:
    if len(candidates) == 1:
        return candidates[0]
    listed = ", ".join(offered) or "none"
    if not candidates:
        raise DiscoveryError(f"no {what} found (the org offers: {listed}); pin it by hand in the stack file")
    raise DiscoveryError(f"several candidates for {what}: {', '.join(candidates)}; pin one by hand in the stack file")


def _text(schema: Any) -> str:
    if not isinstance(schema, Mapping):
        return ""
    return " ".join(str(schema.get(key) or "") for key in ("title", "description", "displayName")).lower()


def _matching(properties: Mapping[str, Any], pattern: str) -> list[str]:
    regex = re.compile(pattern, re.IGNORECASE)
    return sorted(key for key, schema in properties.items() if regex.search(key) or regex.search(_text(schema)))


def discover(client: GenesysApiClient, type_name: str = TYPE_NAME) -> Discovery:
    types = client.get_all("/api/v2/integrations/types")
    named = [t for t in types if str(t.get("name", "")).strip().lower() == type_name.lower()]
    if len(named) != 1:
        close = sorted(str(t.get("name")) for t in types if "openid" in str(t.get("name", "")).lower()
                       or "oidc" in str(t.get("id", "")).lower())
        _one(f"integration type named {type_name!r}", [str(t.get("id")) for t in named], close)
    kind = named[0]
    type_id = str(kind["id"])

    document = client.get(f"/api/v2/integrations/types/{type_id}/configschemas/properties") or {}
    properties: dict[str, Any] = dict(document.get("properties") or {})
    offered = sorted(properties)
    discovery = _one("property of the discovery URI", _matching(properties, r"discovery"), offered)
    lifetime = _one("property of the max refresh token lifetime", _matching(properties, r"refresh"), offered)

    slots: dict[str, Any] = dict(kind.get("credentials") or {})
    slot = _one(f"credential slot of {type_name!r}", sorted(slots), sorted(slots))
    credential_types = [str(t) for t in (slots[slot] or {}).get("credentialTypes") or []]
    credential_type = _one(f"credential type of slot {slot!r}", credential_types, credential_types)

    listing = client.get("/api/v2/integrations/credentials/types") or []
    entries = listing.get("entities", []) if isinstance(listing, Mapping) else listing
    by_name = {str(t.get("name")): t for t in entries if isinstance(t, Mapping)}
    if credential_type not in by_name:
        raise DiscoveryError(f"credential type {credential_type!r} is not listed by GET /api/v2/integrations/credentials/types "
                             f"(the org lists: {', '.join(sorted(by_name)) or 'none'})")
    fields: dict[str, Any] = dict(by_name[credential_type].get("properties") or {})
    client_id = _one(f"field of the client id in {credential_type!r}", _matching(fields, r"client.?id"), sorted(fields))
    secret = _one(f"field of the client secret in {credential_type!r}", _matching(fields, r"secret"), sorted(fields))
    return Discovery(type_id, str(kind.get("name")),
                     OidcIntegrationSchema(discovery, lifetime, slot, credential_type, client_id, secret), properties)


def report(found: Discovery) -> str:
    lines = [f"Integration type {found.type_name!r}: values to pin (stack settings):", ""]
    lines += [f"  {PROJECT}:{key}: {value}" for key, value in found.settings().items()]
    lines += ["", "Its properties schema, as the org reports it:", ""]
    lines += ["  " + line for line in json.dumps(found.properties, indent=2, sort_keys=True).splitlines()]
    return "\n".join(lines) + "\n"


def write_stack(path: Path, values: Mapping[str, str]) -> None:
    """Set ``values`` in a ``Pulumi.<stack>.yaml``: an existing key's line is replaced, a new key is added at the
    end of ``config:``. Comments and the other lines stay as they are."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise DiscoveryError(f"{path}: cannot read the stack file ({exc.strerror})") from None
    if "config:" not in [line.rstrip() for line in lines]:
        raise DiscoveryError(f"{path}: no top-level `config:` section")
    for key, value in values.items():
        entry = f"  {PROJECT}:{key}: {json.dumps(value)}"
        at = next((i for i, line in enumerate(lines) if line.startswith(f"  {PROJECT}:{key}:")), None)
        if at is not None:
            lines[at] = entry
            continue
        start = [line.rstrip() for line in lines].index("config:")
        end = start + 1
        while end < len(lines) and (lines[end].startswith(" ") or not lines[end].strip()):
            end += 1
        lines.insert(end, entry)
    write_atomically(path, "\n".join(lines) + "\n")


def run(region: str | None, type_name: str, stack_file: Path | None,
        client_factory: Callable[[str | None], GenesysApiClient] | None = None) -> str:
    """The command: discover with the provider's OAuth client variables, print, optionally write the stack file."""
    client = (client_factory or GenesysApiClient.from_environment)(region)
    try:
        found = discover(client, type_name)
    finally:
        client.close()
    if stack_file is not None:
        write_stack(stack_file, found.settings())
    return report(found) + (f"\nWritten to {stack_file}.\n" if stack_file is not None else "")
