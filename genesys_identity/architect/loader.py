"""Archy YAML parsed once: plain Python values plus the line of every path, with libyaml's C parser.

``load(text, file)`` composes the YAML node tree (``yaml.CSafeLoader``; the pure-Python ``SafeLoader`` only
when libyaml is missing), builds plain dicts, lists and scalars from it and records, for each path (a tuple
of keys and list indexes from the root), the line where it starts. A duplicate key is an error, as it is in
Archy. Documents are cached by text, so the validator, the project's policies and ``data_action_calls`` share
one parse of a render.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml

from genesys_identity.errors import GenesysIdentityError

Path = tuple[str | int, ...]

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_STR = "tag:yaml.org,2002:str"
C_LOADER = _Loader is not yaml.SafeLoader


class LoadError(GenesysIdentityError):
    """The text is not YAML Archy can read; ``str()`` is ``file:line: not valid YAML: what``."""

    def __init__(self, file: str, line: int, message: str) -> None:
        super().__init__(f"{file}:{line}: not valid YAML: {message}")
        self.file = file
        self.line = line
        self.reason = message


@dataclass(frozen=True, eq=False)
class Document:
    """One parsed flow: its text, its plain value and the line of each path."""

    file: str
    text: str
    value: Any
    lines: Mapping[Path, int]

    def line(self, path: Path) -> int:
        """The line of ``path``, or of its nearest ancestor that has one (1 for the root)."""
        while path:
            found = self.lines.get(path)
            if found is not None:
                return found
            path = path[:-1]
        return self.lines.get((), 1)


def load(text: str, file: str = "<flow>") -> Document:
    """Parse ``text`` once (cached by text: every caller of the same render shares the parse); LoadError when
    it is not YAML."""
    parsed = _parse(text)
    if isinstance(parsed, _Failure):
        raise LoadError(file, parsed.line, parsed.reason)
    value, lines = parsed
    return Document(file, text, value, lines)


@dataclass(frozen=True)
class _Failure:
    line: int
    reason: str


@lru_cache(maxsize=256)
def _parse(text: str) -> tuple[Any, Mapping[Path, int]] | _Failure:
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        lines: dict[Path, int] = {}
        value = _build(loader, node, (), lines) if node is not None else None
    except _BadKey as exc:
        return _Failure(exc.line, exc.reason)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        return _Failure(mark.line + 1 if mark is not None else 1, str(exc.problem or exc.context or "unreadable"))
    except yaml.YAMLError as exc:
        return _Failure(1, str(exc))
    finally:
        loader.dispose()
    return value, lines


class _BadKey(Exception):
    def __init__(self, line: int, reason: str) -> None:
        super().__init__(reason)
        self.line = line
        self.reason = reason


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: Path, lines: dict[Path, int]) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # merge keys (<<), as the safe constructor does
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = key_node.value if key_node.tag == _STR else loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, float, bool)) or key is None:
                raise _BadKey(key_node.start_mark.line + 1, f"a mapping key must be a scalar, got {key!r}")
            if key in result:
                raise _BadKey(key_node.start_mark.line + 1, f"duplicate key {key!r}")
            child = (*path, key if isinstance(key, str) else str(key))
            lines[child] = key_node.start_mark.line + 1
            result[key] = _build(loader, value_node, child, lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, index), lines) for index, item in enumerate(node.value)]
    if node.tag == _STR:  # most scalars: no constructor machinery needed
        return node.value
    return loader.construct_object(node, deep=True)
