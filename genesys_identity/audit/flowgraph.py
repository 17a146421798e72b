"""A picture of a rendered flow for reviewers: states, decisions, data action calls and transfers, as SVG.

The layout is an outline: each action is a box under its state, each path (success, failure, timeout, yes,
no) a label with its actions indented beneath it. It is deterministic, so two renders of one flow give the
same bytes, and readable in a pull request without Architect.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape

import yaml

ROW = 30
INDENT = 26
CHAR = 7.2
COLORS = {"state": "#37474f", "callData": "#1565c0", "decision": "#f9a825", "transferToAcd": "#2e7d32",
          "path": "#ffffff", "disconnect": "#c62828"}
TEXT = {"state": "#ffffff", "callData": "#ffffff", "transferToAcd": "#ffffff", "disconnect": "#ffffff"}


@dataclass(frozen=True)
class Row:
    depth: int
    kind: str
    label: str


def outline(text: str) -> list[Row]:
    document = yaml.safe_load(text) or {}
    flow: dict[str, Any] = next(iter(document.values()), {}) if isinstance(document, dict) else {}
    rows: list[Row] = []
    for item in flow.get("states") or []:
        state = (item or {}).get("state") or {}
        rows.append(Row(0, "state", f"state: {state.get('name')}"))
        _actions(state.get("actions") or [], 1, rows)
    return rows


def _actions(actions: list[Any], depth: int, rows: list[Row]) -> None:
    for item in actions:
        if not isinstance(item, dict) or not item:
            continue
        kind, body = next(iter(item.items()))
        body = body or {}
        rows.append(Row(depth, kind, _label(kind, body)))
        if kind == "callData":
            for path in ("success", "failure", "timeout"):
                if path in (body.get("outputs") or {}):
                    rows.append(Row(depth + 1, "path", path))
                    _actions(((body["outputs"][path] or {}).get("actions")) or [], depth + 2, rows)
        elif kind == "decision":
            for path in ("yes", "no"):
                branch = (body.get("outputs") or {}).get(path)
                if branch is not None:
                    rows.append(Row(depth + 1, "path", path))
                    _actions((branch or {}).get("actions") or [], depth + 2, rows)


def _label(kind: str, body: dict[str, Any]) -> str:
    name = str(body.get("name", kind))
    if kind == "callData":
        category = body.get("category") or {}
        actions = [a for c in category.values() for a in ((c or {}).get("dataAction") or {})]
        return f"call {', '.join(actions)} ({name})"
    if kind == "transferToAcd":
        queue = ((body.get("targetQueue") or {}).get("lit") or {}).get("name", "?")
        preferred = "noValue" not in (body.get("preferredAgents") or {"noValue": True})
        return f"transfer to {queue}{' preferring the last agent' if preferred else ''} ({name})"
    if kind == "decision":
        return f"decide: {((body.get('condition') or {}).get('exp') or '?')}"
    return f"{kind}: {name}"


def svg(text: str, title: str) -> str:
    rows = outline(text)
    width = int(max([INDENT * r.depth + CHAR * len(r.label) + 40 for r in rows] + [300]))
    height = ROW * len(rows) + 50
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'font-family="Helvetica, Arial, sans-serif" font-size="12">',
             f'<text x="10" y="20" font-size="14" font-weight="bold">{escape(title)}</text>']
    for index, row in enumerate(rows):
        x, y = 10 + INDENT * row.depth, 34 + ROW * index
        if row.depth:
            parts.append(f'<line x1="{x - INDENT + 8}" y1="{y - ROW + 22}" x2="{x - INDENT + 8}" y2="{y + 11}" '
                         f'stroke="#9e9e9e"/><line x1="{x - INDENT + 8}" y1="{y + 11}" x2="{x}" y2="{y + 11}" stroke="#9e9e9e"/>')
        box = CHAR * len(row.label) + 16
        fill = COLORS.get(row.kind, "#eceff1")
        stroke = ' stroke="#9e9e9e" stroke-dasharray="3,2"' if row.kind == "path" else ""
        parts.append(f'<rect x="{x}" y="{y}" width="{box:.0f}" height="22" rx="4" fill="{fill}"{stroke}/>')
        style = ' font-style="italic"' if row.kind == "path" else ""
        parts.append(f'<text x="{x + 8}" y="{y + 15}" fill="{TEXT.get(row.kind, "#212121")}"{style}>{escape(row.label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# -- Mermaid, rendered by GitHub inside the report itself ---------------------------------------------------------

@dataclass(frozen=True)
class Node:
    id: str
    kind: str
    label: str
    key: tuple[str, str]  # (action kind, action name): how a step is matched between two renders


def _mermaid_text(text: str) -> str:
    # Mermaid's entity codes keep quotes, brackets and pipes from closing the label.
    return (text.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")
            .replace("|", "#124;").replace("[", "#91;").replace("]", "#93;"))


def graph(text: str) -> tuple[list[Node], list[tuple[str, str, str]]]:
    """The flow as nodes (states and actions) and labelled edges (sequence, success/failure/timeout, yes/no)."""
    document = yaml.safe_load(text) or {}
    flow: dict[str, Any] = next(iter(document.values()), {}) if isinstance(document, dict) else {}
    nodes: list[Node] = []
    edges: list[tuple[str, str, str]] = []

    def add(kind: str, label: str, key: tuple[str, str]) -> str:
        node = Node(f"n{len(nodes)}", kind, label, key)
        nodes.append(node)
        return node.id

    def chain(actions: list[Any], start: str, label: str) -> None:
        previous, edge = start, label
        for item in actions:
            if not isinstance(item, dict) or not item:
                continue
            kind, body = next(iter(item.items()))
            body = body or {}
            current = add(kind, _label(kind, body), (kind, str(body.get("name", kind))))
            edges.append((previous, current, edge))
            previous, edge = current, ""
            outputs = body.get("outputs") or {}
            for path in ("success", "failure", "timeout", "yes", "no"):
                if path in outputs:
                    chain(((outputs[path] or {}).get("actions")) or [], current, path)

    for item in flow.get("states") or []:
        state = (item or {}).get("state") or {}
        name = str(state.get("name"))
        chain(state.get("actions") or [], add("state", f"state: {name}", ("state", name)), "")
    return nodes, edges


def mermaid(text: str, changed: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
            title: str = "") -> list[str]:
    """A fenced ``mermaid`` block; the steps in ``changed`` (matched by kind and name) are highlighted."""
    nodes, edges = graph(text)
    lines = ["```mermaid", "flowchart TD"]
    if title:
        lines.insert(1, f"---\ntitle: {_mermaid_text(title)}\n---")
    shapes = {"state": ('(["', '"])'), "decision": ('{"', '"}'), "callData": ('[["', '"]]')}
    for node in nodes:
        left, right = shapes.get(node.kind, ('["', '"]'))
        lines.append(f"  {node.id}{left}{_mermaid_text(node.label)}{right}")
    for source, target, label in edges:
        lines.append(f"  {source} -->|{label}| {target}" if label else f"  {source} --> {target}")
    highlighted = [n.id for n in nodes if n.key in changed]
    if highlighted:
        lines.append("  classDef changed fill:#ffe082,stroke:#e65100,stroke-width:3px")
        lines.append(f"  class {','.join(highlighted)} changed")
    lines.append("```")
    return lines
