"""Reading a stack's settings straight from ``Pulumi.yaml`` and ``Pulumi.<stack>.yaml``, without the CLI.

Used by the offline plan. ``secure:`` values cannot be decrypted here; they stand as a placeholder that is
marked secret, so they are masked wherever they would appear.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from genesys_identity.errors import SettingsError

OFFLINE_SECRET = "offline-plan-placeholder"
SECRET_ENV_PREFIX = "GENESYS_IDENTITY_"


def secret_env_name(key: str) -> str:
    """The environment variable that may hold a secret setting: oidcClientSecret -> GENESYS_IDENTITY_OIDC_CLIENT_SECRET."""
    return SECRET_ENV_PREFIX + re.sub(r"(?<!^)(?=[A-Z])", "_", key).upper()


def _load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SettingsError(f"{path.name}: file not found in {path.parent}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SettingsError(f"{path.name}:{where}: {problem}") from None


class StackFileSource:
    """A ``ConfigSource`` over the project's and a stack's YAML files, with Pulumi's precedence."""

    def __init__(self, root: Path, stack: str, secret_keys: tuple[str, ...] = ()):
        project_file = _load_yaml(root / "Pulumi.yaml")
        if not isinstance(project_file, dict) or not isinstance(project_file.get("name"), str):
            raise SettingsError("Pulumi.yaml: expected a mapping with a project 'name'")
        self.project: str = project_file["name"]
        self.root = root
        self.stack = stack
        self._values: dict[str, Any] = {}
        self._secrets: set[str] = set()
        for key, spec in (project_file.get("config") or {}).items():
            if isinstance(spec, dict) and spec.get("default") not in (None, ""):
                self._values[self._qualify(key)] = self._encode(spec["default"])
        stack_file = _load_yaml(root / f"Pulumi.{stack}.yaml") or {}
        if not isinstance(stack_file, dict):
            raise SettingsError(f"Pulumi.{stack}.yaml: expected a mapping with a 'config' section")
        config = stack_file.get("config") or {}
        if not isinstance(config, dict):
            raise SettingsError(f"Pulumi.{stack}.yaml: 'config' must be a mapping of keys to values")
        for key, value in config.items():
            full = self._qualify(str(key))
            if isinstance(value, dict) and set(value) == {"secure"}:
                self._values[full] = OFFLINE_SECRET
                self._secrets.add(full)
            else:
                self._values[full] = self._encode(value)
        # Secrets normally set with `pulumi config set --secret` or the environment: the offline plan takes
        # an exported one (still masked) and otherwise stands in for it, so it never needs a secret.
        for key in secret_keys:
            full = self._qualify(key)
            if full not in self._values:
                self._values[full] = os.environ.get(secret_env_name(key)) or OFFLINE_SECRET
                self._secrets.add(full)

    def _qualify(self, key: str) -> str:
        return key if ":" in key else f"{self.project}:{key}"

    @staticmethod
    def _encode(value: Any) -> Any:
        # The CLI hands structured values to programs as JSON text, and scalars as strings.
        if isinstance(value, list | dict):
            return json.dumps(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def get(self, key: str) -> Any:
        return self._values.get(key)

    def is_secret(self, key: str) -> bool:
        return key in self._secrets

    def keys(self) -> list[str]:
        return sorted(self._values)

    def runtime_config(self) -> tuple[dict[str, str], list[str]]:
        """Everything as ``pulumi.runtime.set_all_config`` takes it."""
        return {k: str(v) for k, v in self._values.items()}, sorted(self._secrets)
