"""A fake of the Genesys Cloud login and Platform API, served on loopback. Tests only.

It keeps the identity-resolution documents the dynamic resources manage, checks the bearer token the
way the real API does, and can be told to answer 429 (with Retry-After) or 503 a number of times.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret-Zq9"

_DOCUMENTS = (
    re.compile(r"^/api/v2/webdeployments/deployments/(?P<id>[^/]+)/identityresolution$"),
    re.compile(r"^/api/v2/routing/sms/identityresolution/phonenumbers/(?P<id>[^/]+)$"),
    re.compile(r"^/api/v2/routing/message/recipients/(?P<id>[^/]+)$"),
)


@dataclass
class Call:
    method: str
    path: str
    body: Any
    authorization: str | None


@dataclass
class FakeGenesys:
    documents: dict[str, Any] = field(default_factory=dict)
    known_ids: set[str] = field(default_factory=set)  # deployments / SMS numbers that exist
    calls: list[Call] = field(default_factory=list)
    faults: deque[tuple[int, dict[str, str]]] = field(default_factory=deque)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)  # external contacts by id
    associations: dict[str, dict[str, Any]] = field(default_factory=dict)  # conversation id -> association
    journey_sessions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # contact id -> sessions
    tokens_issued: int = 0
    valid_tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, status: int, times: int = 1, headers: dict[str, str] | None = None) -> None:
        for _ in range(times):
            self.faults.append((status, headers or {}))

    def revoke_tokens(self) -> None:
        self.valid_tokens.clear()

    def owner_of(self, kind: str, value: str) -> str | None:
        for contact_id, contact in self.contacts.items():
            if {"type": kind, "value": value} in contact["identifiers"]:
                return contact_id
        return None

    def _external_contacts(self, method: str, path: str, body: Any) -> tuple[int, Any] | None:
        """Enrich (Upsert keyed on identifiers), merge, conversation association, journey sessions."""
        if method == "POST" and path == "/api/v2/externalcontacts/contacts/enrich":
            if not isinstance(body, dict) or body.get("action") != "Upsert" or not body.get("matchingIdentifiers"):
                return 400, {"message": "action Upsert and matchingIdentifiers are required", "status": 400}
            identifiers = body["matchingIdentifiers"]
            if len(identifiers) > 25 or any(set(i) != {"type", "value"} for i in identifiers):
                return 400, {"message": "matchingIdentifiers: 1..25 {type, value}", "status": 400}
            owners = {self.owner_of(i["type"], i["value"]) for i in identifiers} - {None}
            if len(owners) > 1:
                return 409, {"message": "identifiers belong to several contacts", "status": 409}
            contact_id = owners.pop() if owners else (body.get("id") or f"contact-{len(self.contacts) + 1}")
            contact = self.contacts.setdefault(contact_id, {"id": contact_id, "identifiers": []})
            for ident in identifiers:
                if ident not in contact["identifiers"]:
                    contact["identifiers"].append(ident)
            return 200, {"id": contact_id, "identifiers": contact["identifiers"]}
        if method == "POST" and path == "/api/v2/externalcontacts/contacts/merge":
            ids = (body or {}).get("contactIds") or []
            if len(ids) < 2 or any(i not in self.contacts for i in ids):
                return 400, {"message": "contactIds must name existing contacts", "status": 400}
            merged_id = f"contact-{len(self.contacts) + 1}"
            merged = {"id": merged_id, "identifiers": [], "mergedFrom": ids}
            for contact_id in ids:
                merged["identifiers"] += self.contacts.pop(contact_id)["identifiers"]
            self.contacts[merged_id] = merged
            return 200, merged
        match = re.match(r"^/api/v2/externalcontacts/conversations/(?P<id>[^/]+)$", path)
        if method == "PUT" and match:
            if (body or {}).get("externalContactId") not in self.contacts:
                return 400, {"message": "externalContactId does not exist", "status": 400}
            self.associations[match["id"]] = body
            return 200, body
        match = re.match(r"^/api/v2/externalcontacts/contacts/(?P<id>[^/]+)/journey/sessions$", path)
        if method == "GET" and match:
            return 200, {"entities": self.journey_sessions.get(match["id"], [])}
        return None


def serve(state: FakeGenesys) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
            payload = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_POST(self) -> None:
            raw = self._body()
            if self.path == "/oauth/token":
                expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
                form = parse_qs(raw.decode())
                if self.headers.get("Authorization") != expected or form.get("grant_type") != ["client_credentials"]:
                    self._send(401, {"error": "invalid_client"})
                    return
                with state.lock:
                    state.tokens_issued += 1
                    token = f"token-{state.tokens_issued}"
                    state.valid_tokens.add(token)
                self._send(200, {"access_token": token, "token_type": "bearer", "expires_in": 86399})
                return
            self._api("POST", raw)

        def do_GET(self) -> None:
            self._api("GET", b"")

        def do_PUT(self) -> None:
            self._api("PUT", self._body())

        def _api(self, method: str, raw: bytes) -> None:
            body = json.loads(raw) if raw else None
            auth = self.headers.get("Authorization")
            with state.lock:
                state.calls.append(Call(method, self.path, body, auth))
                fault = state.faults.popleft() if state.faults else None
            if not auth or auth.removeprefix("Bearer ") not in state.valid_tokens:
                self._send(401, {"message": "Invalid login credentials.", "code": "bad.credentials", "status": 401})
                return
            if fault:
                status, headers = fault
                self._send(status, {"message": "fault injected", "status": status}, headers)
                return
            with state.lock:
                answer = state._external_contacts(method, self.path, body)
            if answer is not None:
                self._send(*answer)
                return
            for pattern in _DOCUMENTS:
                match = pattern.match(self.path)
                if not match:
                    continue
                if match["id"] not in state.known_ids:
                    self._send(404, {"message": f"{match['id']} not found", "code": "not.found", "status": 404,
                                     "contextId": "ctx-404"})
                    return
                if method == "PUT" and "/recipients/" in self.path:
                    if not isinstance(body, dict) or not (body.get("flow") or {}).get("id"):
                        self._send(400, {"message": "flow.id is required", "status": 400})
                        return
                    with state.lock:
                        state.documents[self.path] = {"id": match["id"], "flow": body["flow"], "messengerType": "sms"}
                    self._send(200, state.documents[self.path])
                    return
                if method == "PUT":
                    if not isinstance(body, dict) or not isinstance(body.get("resolveIdentities"), bool):
                        self._send(400, {"message": "resolveIdentities is required", "status": 400})
                        return
                    with state.lock:
                        state.documents[self.path] = body
                    self._send(200, body)
                    return
                if method == "GET":
                    self._send(200, state.documents.get(self.path, {"resolveIdentities": False}))
                    return
            self._send(404, {"message": f"no route {method} {self.path}", "status": 404})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
