"""The one place that knows how Genesys Cloud resources are registered with Pulumi.

There is no installable ``pulumi_genesyscloud`` SDK: the provider is the Terraform provider
``mypurecloud/genesyscloud`` bridged by Pulumi's ``terraform-provider`` plugin. This module does what a
generated SDK does (a parameterized package reference, ``genesyscloud:index/...`` tokens, bridged property
names) and, before anything is registered, checks every resource against the vendored 1.84.1 schema.

Components speak Terraform attribute names; a Max: 1 block is given as a dict, any other block as a list
of dicts. Leaf values may be Pulumi outputs; structure (which attributes and blocks exist) may not, so
it can be checked here.
"""

from __future__ import annotations

import base64
import difflib
import json
from collections.abc import Awaitable, Mapping
from typing import Any

import pulumi
from pulumi.runtime.settings import register_package

from genesys_identity.errors import SchemaViolation
from genesys_identity.genesys.naming import PACKAGE, property_name, type_token
from genesys_identity.genesys.schema import Attribute, Block, load

PROVIDER_VERSION = "1.84.1"
PROVIDER_SOURCE = "registry.opentofu.org/mypurecloud/genesyscloud"
# The pulumi-terraform-provider plugin that bridges the Terraform provider at deploy time.
BRIDGE_PLUGIN = "terraform-provider"
BRIDGE_PLUGIN_VERSION = "1.0.2"


def package_parameter() -> str:
    """The base64 parameter of the parameterized package (pulumi-terraform-bridge parameterize/value.go)."""
    value = {"remote": {"url": PROVIDER_SOURCE, "version": PROVIDER_VERSION}}
    return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()


def _package_ref() -> Awaitable[str | None]:
    # A fresh coroutine per resource: each is awaited once, and the SDK caches the reference per
    # deployment, so every resource of one run shares one registration.
    return register_package(
        base_provider_name=BRIDGE_PLUGIN,
        base_provider_version=BRIDGE_PLUGIN_VERSION,
        base_provider_download_url="",
        package_name=PACKAGE,
        package_version=PROVIDER_VERSION,
        base64_parameter=package_parameter(),
    )


def _is_input(value: Any) -> bool:
    """A value only known at deploy time: its type cannot be checked here."""
    return isinstance(value, pulumi.Output | Awaitable)


class _Translation:
    """Checks Terraform-named values against a block of the schema and renames them for Pulumi."""

    def __init__(self, where: str):
        self.where = where
        self.secret_roots: set[str] = set()

    def fail(self, path: str, problem: str) -> SchemaViolation:
        at = f" {path}:" if path else ""
        return SchemaViolation(f"{self.where}:{at} {problem}")

    def block(self, block: Block, values: Mapping[str, Any], path: str, root: str | None) -> dict[str, Any]:
        if not isinstance(values, Mapping):
            raise self.fail(path, f"expected an object of attributes, got {type(values).__name__}")
        siblings = block.names()
        out: dict[str, Any] = {}
        for key, value in values.items():
            here = f"{path}.{key}" if path else key
            if key in block.attributes:
                attribute = block.attributes[key]
                name = property_name(key, many=attribute.collection in ("list", "set"), siblings=siblings)
                if value is None:
                    continue
                out[name] = self.attribute(attribute, value, here, root or name)
            elif key in block.blocks:
                nested = block.blocks[key]
                name = property_name(key, many=not nested.single, siblings=siblings)
                if value is None:
                    continue
                out[name] = self.nested(nested, value, here, root or name)
            else:
                close = difflib.get_close_matches(key, sorted(siblings), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                raise self.fail(here, f"unknown attribute {key!r} (not in provider {PROVIDER_VERSION}){hint}")
        for key, attribute in block.attributes.items():
            if attribute.required and values.get(key) is None:
                raise self.fail(f"{path}.{key}" if path else key, "required attribute is missing")
        for key, nested in block.blocks.items():
            if nested.min_items > 0 and values.get(key) is None:
                raise self.fail(f"{path}.{key}" if path else key, "required block is missing")
        return out

    def nested(self, block: Block, value: Any, path: str, root: str) -> Any:
        if _is_input(value):
            raise self.fail(path, "a block must be given as plain data (its leaf values may be outputs)")
        if block.single:
            if isinstance(value, list | tuple):
                raise self.fail(path, "a list was given where an object is expected (Max: 1 block)")
            return self.block(block, value, path, root)
        if isinstance(value, Mapping):
            raise self.fail(path, "an object was given where a list of objects is expected")
        if not isinstance(value, list | tuple):
            raise self.fail(path, f"expected a list of objects, got {type(value).__name__}")
        if len(value) < block.min_items:
            raise self.fail(path, f"needs at least {block.min_items} item(s), got {len(value)}")
        if block.max_items is not None and len(value) > block.max_items:
            raise self.fail(path, f"allows at most {block.max_items} item(s), got {len(value)}")
        return [self.block(block, item, f"{path}[{i}]", root) for i, item in enumerate(value)]

    def attribute(self, attribute: Attribute, value: Any, path: str, root: str) -> Any:
        if attribute.read_only:
            raise self.fail(path, "is read-only (computed by the provider) and cannot be set")
        if not _is_input(value):
            self.check_value(attribute, value, path)
        if attribute.sensitive:
            self.secret_roots.add(root)
            return pulumi.Output.secret(value)
        return value

    def check_value(self, attribute: Attribute, value: Any, path: str) -> None:
        kind = attribute.collection
        if kind in ("list", "set"):
            if not isinstance(value, list | tuple):
                raise self.fail(path, f"expected {attribute.type.lower()}, got {type(value).__name__}")
            for i, item in enumerate(value):
                self.check_scalar(attribute, item, f"{path}[{i}]")
        elif kind == "map":
            if not isinstance(value, Mapping):
                raise self.fail(path, f"expected {attribute.type.lower()}, got {type(value).__name__}")
            for key, item in value.items():
                self.check_scalar(attribute, item, f"{path}[{key!r}]")
        else:
            self.check_scalar(attribute, value, path)

    def check_scalar(self, attribute: Attribute, value: Any, path: str) -> None:
        if _is_input(value):
            return
        expected = attribute.element_type
        ok = {
            "String": isinstance(value, str),
            "Boolean": isinstance(value, bool),
            "Number": isinstance(value, int | float) and not isinstance(value, bool),
        }.get(expected, False)
        if not ok:
            raise self.fail(path, f"expected a {expected.lower()}, got {type(value).__name__} {value!r}")
        if attribute.valid_values and value not in attribute.valid_values:
            allowed = ", ".join(attribute.valid_values)
            raise self.fail(path, f"{value!r} is not one of the valid values ({allowed})")


def translate(terraform_type: str, resource_name: str, attributes: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Check ``attributes`` against the schema; return the Pulumi properties and the secret ones' names."""
    translation = _Translation(f"{terraform_type} {resource_name!r}")
    props = translation.block(load().resource(terraform_type), attributes, "", None)
    return props, sorted(translation.secret_roots)


class GenesysResource(pulumi.CustomResource):
    """A ``genesyscloud`` resource, registered as the generated SDK would register it."""

    def __init__(
        self,
        terraform_type: str,
        resource_name: str,
        attributes: Mapping[str, Any],
        opts: pulumi.ResourceOptions | None = None,
    ):
        block = load().resource(terraform_type)
        props, secrets = translate(terraform_type, resource_name, attributes)
        self._pulumi_names = {
            key: property_name(key, many=_is_many(block, key), siblings=block.names())
            for key in block.names()
            if key != "id"
        }
        # Like a generated SDK: every output property is registered, unset ones as None.
        for name in self._pulumi_names.values():
            props.setdefault(name, None)
        if secrets:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=secrets))
        # Attributes Genesys cannot change in place (a data action's contract, ...): say so in every preview.
        replaced = sorted(self._pulumi_names[key] for key, attr in block.attributes.items()
                          if attr.force_new and key in attributes)
        if replaced:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(replace_on_changes=replaced))
        self._terraform_type = terraform_type
        super().__init__(type_token(terraform_type), resource_name, props, opts, package_ref=_package_ref())

    def output(self, attribute: str) -> pulumi.Output[Any]:
        """The output of a Terraform attribute (``snippet``, ``version``, ...) of this resource."""
        if attribute == "id":
            return self.id
        try:
            value: pulumi.Output[Any] = getattr(self, self._pulumi_names[attribute])
        except KeyError:
            raise SchemaViolation(f"{self._terraform_type} has no attribute {attribute!r}") from None
        return value


def _is_many(block: Block, key: str) -> bool:
    if key in block.blocks:
        return not block.blocks[key].single
    return block.attributes[key].collection in ("list", "set")


class GenesysProvider(pulumi.ProviderResource):
    """An explicit ``genesyscloud`` provider, so a stack's region is a stack setting and not ambient state.

    Credentials are left to the provider's own environment variables (``GENESYSCLOUD_OAUTHCLIENT_ID`` and
    ``GENESYSCLOUD_OAUTHCLIENT_SECRET``): they never pass through the program or its state.
    """

    def __init__(self, resource_name: str, attributes: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None):
        translation = _Translation(f"provider {PACKAGE} {resource_name!r}")
        props = translation.block(load().provider, attributes, "", None)
        super().__init__(PACKAGE, resource_name, props, opts, package_ref=_package_ref())




def read_only_outputs(token: str) -> dict[str, str]:
    """Pulumi names of the provider-computed attributes of the resource with type ``token``, keyed by Terraform name."""
    for terraform_type, block in load().resources.items():
        if type_token(terraform_type) == token:
            return {
                key: property_name(key, many=_is_many(block, key), siblings=block.names())
                for key, attribute in block.attributes.items()
                if attribute.read_only and key != "id"
            }
    return {}
