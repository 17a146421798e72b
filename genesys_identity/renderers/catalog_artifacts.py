"""Artifacts derived from the participant attribute catalog: the website snippet and the auditors' table."""

from __future__ import annotations

import hashlib
import json

from genesys_identity.catalog import Catalog

SNIPPET_FILE = "messenger-attributes.js"
REFERENCE_FILE = "participant-attributes.md"

_SNIPPET = """\
// Generated from the participant attribute catalog ({sources}). Do not edit: change the catalog and
// regenerate (`make plan`). Catalog digest: {digest}
//
// For the web team: call {namespace}.setCustomerContext({{...}}) once the Genesys Messenger has loaded.
// It checks every value against the catalog (name, type, format, length) and sends them with the
// Messenger's Database.set command; they reach the inbound message flow as participant data Context.<name>.
// Values set here are claims made by the page, never proof of identity.
(function (root) {{
  "use strict";
  var ATTRIBUTES = {attributes};
  var FORMATS = {{
    e164: /^\\+[1-9][0-9]{{6,14}}$/,
    email: /^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$/,
    uuid: /^[0-9a-fA-F]{{8}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{4}}-[0-9a-fA-F]{{12}}$/,
    datetime: /^\\d{{4}}-\\d{{2}}-\\d{{2}}T\\d{{2}}:\\d{{2}}:\\d{{2}}(\\.\\d+)?(Z|[+-]\\d{{2}}:\\d{{2}})$/
  }};

  function check(name, value) {{
    var spec = ATTRIBUTES[name];
    if (!spec) {{
      throw new Error("unknown participant attribute '" + name + "' (names are case-sensitive)");
    }}
    if (spec.type === "integer" && !(typeof value === "number" && Math.floor(value) === value)) {{
      throw new Error("participant attribute '" + name + "' must be an integer");
    }}
    if (spec.type === "boolean" && typeof value !== "boolean") {{
      throw new Error("participant attribute '" + name + "' must be true or false");
    }}
    if (spec.type === "string" && typeof value !== "string") {{
      throw new Error("participant attribute '" + name + "' must be a string");
    }}
    var text = String(value);
    if (text.length > spec.maxLength) {{
      throw new Error("participant attribute '" + name + "' is longer than " + spec.maxLength + " characters");
    }}
    if (spec.format && !FORMATS[spec.format].test(text)) {{
      throw new Error("participant attribute '" + name + "' is not a valid " + spec.format + " value");
    }}
    return text;
  }}

  function setCustomerContext(values) {{
    var customAttributes = {{}};
    Object.keys(values).forEach(function (name) {{
      customAttributes[name] = check(name, values[name]);
    }});
    root.Genesys("command", "Database.set", {{ messaging: {{ customAttributes: customAttributes }} }});
    return customAttributes;
  }}

  root.{namespace} = {{ setCustomerContext: setCustomerContext, attributes: ATTRIBUTES }};
}})(typeof window !== "undefined" ? window : globalThis);
"""


def digest(catalog: Catalog) -> str:
    text = json.dumps(catalog.to_document(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def messenger_snippet(catalog: Catalog, namespace: str = "genesysIdentity") -> str:
    """JavaScript for the website: the catalog's ``messenger_database`` attributes, checked, via Database.set."""
    specs = {
        a.name: {k: v for k, v in (("type", a.type), ("format", a.format), ("maxLength", a.max_length)) if v}
        for a in catalog.by_source("messenger_database")
    }
    attributes = json.dumps(specs, indent=2, sort_keys=True).replace("\n", "\n  ")
    return _SNIPPET.format(sources=", ".join(catalog.sources), digest=digest(catalog), namespace=namespace,
                           attributes=attributes)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def reference_table(catalog: Catalog) -> str:
    """Markdown for auditors: one row per attribute with everything a review needs."""
    lines = [
        "# Participant attributes",
        "",
        f"Generated from {', '.join(catalog.sources)} (digest {digest(catalog)}). Do not edit.",
        "",
        "| name | type | source | routing | agent-visible | PII | identity evidence | max length | description |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for a in sorted(catalog.attributes, key=lambda a: a.name):
        kind = f"{a.type} ({a.format})" if a.format else a.type
        source = f"{a.source} `{a.claim}`" if a.claim else a.source
        visible = "yes" if a.agent_visible else "no"
        if a.agent_visible_reason:
            visible += f": {_cell(a.agent_visible_reason)}"
        lines.append(
            f"| `{a.name}` | {kind} | {source} | {'yes' if a.routing else 'no'} | {visible} | {a.pii} | "
            f"{'yes' if a.identity_evidence else 'no'} | {a.max_length} | {_cell(a.description)} |"
        )
    return "\n".join(lines) + "\n"


def render_all(catalog: Catalog) -> dict[str, str]:
    return {SNIPPET_FILE: messenger_snippet(catalog), REFERENCE_FILE: reference_table(catalog)}
