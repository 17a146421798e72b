"""Reading a stack's settings straight from ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml``, without the CLI.

Used by the offline plan. It applies the rules the Pulumi CLI applies before a program runs, with the CLI's own
messages (pulumi/pulumi ``pkg/workspace/config.go``, ``mergeConfig`` and ``validateStackConfigValues``;
``sdk/go/common/workspace/project.go``, ``Project.Validate`` and ``ValidateConfigValue``):

- every project key without ``default`` (or ``value``) is required on every stack: "Stack 'dev' is missing
  configuration value 'webQueue'" (all missing keys in one message, sorted);
- a project key with ``secret: true`` must hold a ``secure:`` value on the stack, and the CLI checks the
  project's default too, so a secret key with a default fails on every stack that does not set it;
- a typed key's value must be of its type (``string``, ``integer``, ``boolean``, ``array<...>``): a YAML list
  for an array, a whole number (or its text) for an integer, ``true``/``false`` for a boolean; an empty YAML
  value (``webQueue:``) is ``null``, which is of no type;
- stack keys are namespaced (``<project>:<key>``).

``secure:`` values cannot be decrypted here; they stand as a placeholder that is marked secret, so they are masked
wherever they would appear.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from genesys_identity.errors import SettingsError

OFFLINE_SECRET = "offline-plan-placeholder"
SECRET_ENV_PREFIX = "GENESYS_IDENTITY_"
_NO_DEFAULT = object()


def secret_env_name(key: str) -> str:
    """The environment variable that may hold a secret setting: oidcClientSecret -> GENESYS_IDENTITY_OIDC_CLIENT_SECRET."""
    return SECRET_ENV_PREFIX + re.sub(r"(?<!^)(?=[A-Z])", "_", key).upper()


class _GoYamlLoader(yaml.SafeLoader):
    """YAML as the CLI's Go parser reads config: ``yes``/``no``/``on``/``off`` and dates stay text."""


_GoYamlLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp",)
            and not (tag == "tag:yaml.org,2002:bool" and regex.match("yes"))]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_GoYamlLoader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                    list("tTfF"))


def _load_yaml(path: Path, display: str | None = None) -> Any:
    name = display or path.name
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"{name}: file not found in {path.parent}") from None
    try:
        return yaml.load(text, Loader=_GoYamlLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SettingsError(f"{name}:{where}: {problem}") from None


@dataclass(frozen=True)
class ConfigType:
    """One key of ``Pulumi.yaml``'s ``config:``, as the CLI reads it."""

    key: str
    type: str | None
    items: Any  # the ``items`` mapping of an array, or None
    default: Any = _NO_DEFAULT
    value: Any = _NO_DEFAULT
    secret: bool = False

    @property
    def required(self) -> bool:
        return self.default is _NO_DEFAULT and self.value is _NO_DEFAULT

    @property
    def full_type_name(self) -> str:
        return full_type_name(self.type or "", self.items)


@dataclass(frozen=True)
class StackValue:
    """A stack value the way the CLI keeps it: text, and whether it is a ``secure:`` value or a JSON object."""

    text: str
    secure: bool = False
    object: bool = False

    @classmethod
    def of(cls, raw: Any) -> StackValue:
        if isinstance(raw, dict) and set(raw) == {"secure"}:
            return cls(str(raw["secure"]), secure=True)
        if isinstance(raw, bool):
            return cls("true" if raw else "false")
        if isinstance(raw, int | float | str):
            return cls(json.dumps(raw) if isinstance(raw, float) else str(raw))
        return cls(json.dumps(raw), object=True)  # lists, mappings and null (an empty YAML value)

    def content(self) -> Any:
        return json.loads(self.text) if self.object else self.text


def full_type_name(type_name: str, items: Any) -> str:
    """``InferFullTypeName``: ``array<string>`` for an array of strings."""
    if isinstance(items, dict):
        return f"array<{full_type_name(str(items.get('type', '')), items.get('items'))}>"
    return type_name


def valid_config_value(type_name: str, items: Any, value: Any) -> bool:
    """``ValidateConfigValue`` of the Pulumi CLI."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int) or (isinstance(value, float) and value == int(value)):
            return True
        return isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value) is not None
    if type_name == "boolean":
        return value in ("true", "false") or isinstance(value, bool)
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or not isinstance(items, dict):
        return False
    return all(valid_config_value(str(items.get("type", "")), items.get("items"), item) for item in value)


def project_config(project_file: dict[str, Any]) -> dict[str, ConfigType]:
    """The project's config types, checked the way ``Project.Validate`` checks them."""
    declared = project_file.get("config") or {}
    if not isinstance(declared, dict):
        raise SettingsError("Pulumi.yaml: 'config' must be a mapping of keys to their types")
    types: dict[str, ConfigType] = {}
    for key, spec in declared.items():
        if not isinstance(spec, dict):  # a bare value: `key: value` is shorthand for `value:` (no type)
            types[str(key)] = ConfigType(str(key), None, None, value=spec)
            continue
        config_type = ConfigType(str(key), spec.get("type"), spec.get("items"),
                                 spec["default"] if spec.get("default") is not None else _NO_DEFAULT,
                                 spec["value"] if spec.get("value") is not None else _NO_DEFAULT,
                                 bool(spec.get("secret", False)))
        if config_type.default is not _NO_DEFAULT and config_type.value is not _NO_DEFAULT:
            raise SettingsError(f"Pulumi.yaml: project config '{key}' cannot have both a 'default' and 'value' attribute")
        if config_type.type == "array" and config_type.items is None:
            raise SettingsError(f"Pulumi.yaml: The configuration key '{key}' declares an array but does not specify the "
                                "underlying type via the 'items' attribute")
        if config_type.type and config_type.default is not _NO_DEFAULT \
                and not valid_config_value(config_type.type, config_type.items, config_type.default):
            raise SettingsError(f"Pulumi.yaml: The default value specified for configuration key '{key}' is not of the "
                                f"expected type '{config_type.full_type_name}'")
        types[str(key)] = config_type
    return types


def _missing(stack: str, keys: list[str]) -> str:
    """``missingStackConfigurationKeysError``."""
    keys = sorted(keys)
    if len(keys) == 1:
        listed = f"'{keys[0]}'"
    else:
        listed = ", ".join(f"'{k}'" for k in keys[:-2])
        listed = (listed + ", " if listed else "") + f"'{keys[-2]}' and '{keys[-1]}'"
    return f"Stack '{stack}' is missing configuration {'value' if len(keys) == 1 else 'values'} {listed}"


class StackFileSource:
    """A ``ConfigSource`` over the project's and a stack's YAML files, with the CLI's merge and validation."""

    def __init__(self, root: Path, stack: str, secret_keys: tuple[str, ...] = ()):
        project_file = _load_yaml(root / "Pulumi.yaml")
        if not isinstance(project_file, dict) or not isinstance(project_file.get("name"), str):
            raise SettingsError("Pulumi.yaml: expected a mapping with a project 'name'")
        self.project: str = project_file["name"]
        self.root = root
        self.stack = stack
        self.file = f"Pulumi.{stack}.yaml"
        types = project_config(project_file)

        stack_file = _load_yaml(root / self.file)
        if stack_file is None:
            stack_file = {}
        if not isinstance(stack_file, dict):
            raise SettingsError(f"{self.file}: expected a mapping with a 'config:' section")
        has_config = "config" in stack_file
        config = stack_file.get("config") or {}
        if not isinstance(config, dict):
            raise SettingsError(f"{self.file}: 'config' must be a mapping of keys to values")

        values: dict[str, StackValue] = {}
        for key, raw in config.items():
            if ":" not in str(key):
                raise SettingsError(
                    f"{self.file}: could not parse {key} as a configuration key (configuration keys should be of the "
                    f"form `<namespace>:<name>`; write {self.project}:{key})")
            values[str(key)] = StackValue.of(raw)

        # mergeConfig: required keys, then the project's defaults for what the stack does not set.
        missing = [k for k, t in sorted(types.items())
                   if self._qualify(k) not in values and t.required and self._is_project_key(k)]
        if missing:
            problem = _missing(stack, missing)
            if not has_config:
                raise SettingsError(f"{self.file} has no 'config:' section, so {problem}")
            raise SettingsError(f"{self.file}: {problem} (set it with `pulumi config set <key> <value> --stack {stack}`)")
        for key, config_type in sorted(types.items()):
            full = self._qualify(key)
            if full not in values:
                given = config_type.value if config_type.value is not _NO_DEFAULT else config_type.default
                if given is not _NO_DEFAULT:
                    values[full] = StackValue.of(given)

        # validateStackConfigValues: secret keys must be secure, typed keys of their type (in key order).
        for key, config_type in sorted(types.items()):
            if not config_type.type or not self._is_project_key(key):
                continue
            value = values.get(self._qualify(key))
            if value is None:
                continue
            if config_type.secret and not value.secure:
                raise SettingsError(f"{self.file}: Stack '{stack}' with configuration key '{key}' must be encrypted as "
                                    "it's secret")
            if value.secure:
                continue  # the offline plan cannot decrypt it; the CLI checks its type with the decrypted text
            content = value.content()
            if not valid_config_value(config_type.type, config_type.items, content):
                raise SettingsError(f"{self.file}: Stack '{stack}' with configuration key '{key}' must be of type "
                                    f"'{config_type.full_type_name}'{_hint(config_type, content)}")

        self._values: dict[str, Any] = {}
        self._secrets: set[str] = set()
        for full, value in values.items():
            self._values[full] = OFFLINE_SECRET if value.secure else value.text
            if value.secure:
                self._secrets.add(full)
        # Secrets the program reads from the environment when the stack does not hold them: the offline plan takes
        # an exported one (still masked) and otherwise stands in for it, so it never needs a secret.
        for key in secret_keys:
            full = self._qualify(key)
            if self._values.get(full) in (None, ""):
                self._values[full] = os.environ.get(secret_env_name(key)) or OFFLINE_SECRET
                self._secrets.add(full)

    def _qualify(self, key: str) -> str:
        return key if ":" in key else f"{self.project}:{key}"

    def _is_project_key(self, key: str) -> bool:
        return ":" not in key or key.startswith(self.project + ":")

    def get(self, key: str) -> Any:
        return self._values.get(key)

    def is_secret(self, key: str) -> bool:
        return key in self._secrets

    def keys(self) -> list[str]:
        return sorted(self._values)

    def runtime_config(self) -> tuple[dict[str, str], list[str]]:
        """Everything as ``pulumi.runtime.set_all_config`` takes it."""
        return {k: str(v) for k, v in self._values.items()}, sorted(self._secrets)


def _hint(config_type: ConfigType, content: Any) -> str:
    if content is None:
        return " (the key is there with an empty value)"
    if config_type.type == "array" and not isinstance(content, list):
        return " (a single value; write a YAML list, one `- item` per line)"
    return ""
