"""The users and queues a flow run routes against: who exists, who was deleted, who is a member of which queue
and on queue.

A run is given a directory file (JSON or YAML)::

    {"users":  [{"id": "6f1a3c2e-...", "name": "Dana Reyes"}, {"id": "...", "name": "Ex Agent", "deleted": true}],
     "queues": [{"name": "acme-dev SMS", "id": "optional",
                 "members": [{"userId": "6f1a3c2e-...", "onQueue": true}]}]}

Without a file, the directory is what the stack creates: its queues, with no members and no users.

Preferred agents follow Genesys' documented behaviour (Resource Center, "Preferred agent routing behavior",
?p=204745): an interaction is routed to a preferred agent only when that agent belongs to the target queue and is
on queue; otherwise it is routed by the queue's normal routing. A deleted user is not found by id (``FindUserById``
gives NOT_SET for an id that does not resolve; a deleted user is also removed from every queue).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from genesys_identity.errors import GenesysIdentityError

PREFERRED_AGENT_HELP = 'Resource Center "Preferred agent routing behavior" (?p=204745)'


class DirectoryError(GenesysIdentityError):
    """The directory file cannot be read or has a wrong shape; the message names the file and the entry."""


@dataclass(frozen=True)
class DirectoryUser:
    id: str
    name: str
    deleted: bool = False


@dataclass(frozen=True)
class QueueMember:
    user_id: str
    on_queue: bool


@dataclass(frozen=True)
class DirectoryQueue:
    name: str
    id: str | None
    members: tuple[QueueMember, ...] = ()

    def member(self, user_id: str) -> QueueMember | None:
        return next((m for m in self.members if m.user_id == user_id), None)


@dataclass(frozen=True)
class PreferredAgentDecision:
    """One preferred agent as the transfer saw it: offered to the queue's routing, or set aside, and why."""

    user_id: str
    name: str | None
    score: int
    eligible: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"userId": self.user_id, "name": self.name, "score": self.score, "eligible": self.eligible,
                "reason": self.reason}


@dataclass(frozen=True)
class Routing:
    """Where a transferToAcd put the interaction and why."""

    queue: DirectoryQueue
    preferred: tuple[PreferredAgentDecision, ...]
    reason: str

    @property
    def routed_to(self) -> PreferredAgentDecision | None:
        eligible = [p for p in self.preferred if p.eligible]
        return max(eligible, key=lambda p: p.score) if eligible else None


@dataclass(frozen=True)
class Directory:
    users: Mapping[str, DirectoryUser] = field(default_factory=dict)
    queues: Sequence[DirectoryQueue] = ()
    source: str = "(the stack's queues, no members)"

    def find_user(self, user_id: str) -> DirectoryUser | None:
        user = self.users.get(user_id)
        return None if user is None or user.deleted else user

    def find_queue(self, name_or_id: str) -> DirectoryQueue | None:
        return next((q for q in self.queues if name_or_id in (q.name, q.id)), None)

    def route(self, queue: DirectoryQueue, preferred: Iterable[tuple[str, int]]) -> Routing:
        """Apply the preferred-agent rules to ``(user id, score)`` pairs for a transfer to ``queue``."""
        decisions = []
        for user_id, score in preferred:
            user = self.users.get(user_id)
            name = user.name if user else None
            member = queue.member(user_id)
            if user is None or user.deleted:
                eligible, why = False, "no such user in the directory" if user is None else "the user was deleted"
            elif member is None:
                eligible, why = False, f"not a member of {queue.name!r}"
            elif not member.on_queue:
                eligible, why = False, f"a member of {queue.name!r} but not on queue"
            else:
                eligible, why = True, f"a member of {queue.name!r} and on queue"
            decisions.append(PreferredAgentDecision(user_id, name, score, eligible, why))
        chosen = [d for d in decisions if d.eligible]
        if not decisions:
            reason = "no preferred agents: normal queue routing"
        elif chosen:
            best = max(chosen, key=lambda d: d.score)
            reason = f"preferred agent {best.name or best.user_id} ({best.reason}; {PREFERRED_AGENT_HELP})"
        else:
            reason = ("normal queue routing: no preferred agent is a member of the queue and on queue ("
                      + "; ".join(f"{d.name or d.user_id}: {d.reason}" for d in decisions) + f"; {PREFERRED_AGENT_HELP})")
        return Routing(queue, tuple(decisions), reason)


def for_queues(names: Iterable[str]) -> Directory:
    """The directory a stack creates: its queues, no members, no users."""
    return Directory({}, tuple(DirectoryQueue(name, None) for name in names))


def load(path: Path) -> Directory:
    label = str(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise DirectoryError(f"{label}: cannot read: {exc.strerror}") from None
    try:
        document = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise DirectoryError(f"{label}: not {'JSON' if path.suffix == '.json' else 'YAML'}: "
                             f"{str(exc).splitlines()[0]}") from None
    return parse(document, label)


def parse(document: Any, label: str = "directory") -> Directory:
    if not isinstance(document, dict):
        raise DirectoryError(f"{label}: must be an object with 'users' and 'queues'")
    unknown = sorted(set(document) - {"users", "queues"})
    if unknown:
        raise DirectoryError(f"{label}: unknown key {unknown[0]!r} (known: users, queues)")
    users: dict[str, DirectoryUser] = {}
    for i, entry in enumerate(_list(document, "users", label)):
        where = f"{label}: users[{i}]"
        _keys(entry, where, required={"id", "name"}, optional={"deleted"})
        user = DirectoryUser(_text(entry, "id", where), _text(entry, "name", where), _bool(entry, "deleted", where, False))
        if user.id in users:
            raise DirectoryError(f"{where}: id {user.id!r} appears twice")
        users[user.id] = user
    queues: list[DirectoryQueue] = []
    for i, entry in enumerate(_list(document, "queues", label)):
        where = f"{label}: queues[{i}]"
        _keys(entry, where, required={"name"}, optional={"id", "members"})
        members = []
        for j, member in enumerate(entry.get("members") or []):
            at = f"{where}.members[{j}]"
            _keys(member, at, required={"userId"}, optional={"onQueue"})
            user_id = _text(member, "userId", at)
            if user_id not in users:
                raise DirectoryError(f"{at}: userId {user_id!r} is not in users")
            members.append(QueueMember(user_id, _bool(member, "onQueue", at, True)))
        queue_id = entry.get("id")
        if queue_id is not None and not isinstance(queue_id, str):
            raise DirectoryError(f"{where}: id must be a string")
        queue = DirectoryQueue(_text(entry, "name", where), queue_id, tuple(members))
        if any(q.name == queue.name for q in queues):
            raise DirectoryError(f"{where}: queue {queue.name!r} appears twice")
        queues.append(queue)
    return Directory(users, tuple(queues), label)


def _list(document: Mapping[str, Any], key: str, label: str) -> list[Any]:
    value = document.get(key) or []
    if not isinstance(value, list):
        raise DirectoryError(f"{label}: {key} must be a list")
    return value


def _keys(entry: Any, where: str, *, required: set[str], optional: set[str]) -> None:
    if not isinstance(entry, dict):
        raise DirectoryError(f"{where}: must be an object")
    missing = sorted(required - set(entry))
    if missing:
        raise DirectoryError(f"{where}: missing {missing[0]!r}")
    unknown = sorted(set(entry) - required - optional)
    if unknown:
        raise DirectoryError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(required | optional))})")


def _text(entry: Mapping[str, Any], key: str, where: str) -> str:
    value = entry.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DirectoryError(f"{where}: {key} must be a non-empty string")
    return value


def _bool(entry: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = entry.get(key, default)
    if not isinstance(value, bool):
        raise DirectoryError(f"{where}: {key} must be true or false")
    return value
