"""A fake of the Genesys Cloud login and Platform API, served on loopback. Tests only.

It keeps the identity-resolution documents the dynamic resources manage, checks the bearer token the
way the real API does, and can be told to answer 429 (with Retry-After) or 503 a number of times.

Every request body is checked against the official Platform API model of its route (``tests/genesys_models``:
field names, types, allowed values, required fields) and refused with 400 naming each problem, as Genesys
refuses a bad body; every answer is built in the shape of the route's response model (and checked too), so
a test against this fake cannot pass with a body Genesys would refuse or a response it would never send.
Listings (integration types, SMS numbers, message recipients) are paged as the API pages them.
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
from urllib.parse import parse_qs, urlsplit

from tests.genesys_models import problems, query_parameters

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret-Zq9"

# Documents the dynamic resources manage: path -> (request model, response model).
_DOCUMENTS = (
    (re.compile(r"^/api/v2/webdeployments/deployments/(?P<id>[^/]+)/identityresolution$"),
     "DeploymentIdentityResolutionConfig", "DeploymentIdentityResolutionConfig"),
    (re.compile(r"^/api/v2/routing/sms/identityresolution/phonenumbers/(?P<id>[^/]+)$"),
     "SmsIdentityResolutionConfig", "SmsIdentityResolutionConfig"),
    (re.compile(r"^/api/v2/routing/message/recipients/(?P<id>[^/]+)$"), "RecipientRequest", "Recipient"),
)
# Request models of the external contacts routes.
_REQUEST_MODELS = (
    ("POST", re.compile(r"^/api/v2/externalcontacts/contacts/enrich$"), "ContactEnrichRequest"),
    ("POST", re.compile(r"^/api/v2/externalcontacts/contacts/merge$"), "MergeContactsRequest"),
    ("PUT", re.compile(r"^/api/v2/externalcontacts/conversations/[^/]+$"), "ConversationAssociation"),
)
PAGE_SIZE = 25  # the API's default page size


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
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> Conversation
    sms_numbers: list[dict[str, Any]] = field(default_factory=list)  # SmsPhoneNumber entities
    recipients: list[dict[str, Any]] = field(default_factory=list)  # Recipient entities
    integration_types: list[dict[str, Any]] = field(default_factory=list)  # IntegrationType entities
    config_schemas: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (type, kind) -> JsonSchemaDocument
    credential_types: list[dict[str, Any]] = field(default_factory=list)  # CredentialType entities
    refused: list[str] = field(default_factory=list)  # every body problem answered with 400
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
            if any(i["type"] == kind and i["value"] == value for i in contact["identifiers"]):
                return contact_id
        return None

    def add_sms_number(self, number_id: str, e164: str, recipient_id: str | None = None) -> None:
        """A provisioned SMS number (``SmsPhoneNumber``) and its messaging recipient (``Recipient``)."""
        self.sms_numbers.append({"id": number_id, "name": e164, "phoneNumber": e164, "phoneNumberType": "local",
                                 "phoneNumberStatus": "active", "countryCode": "US", "version": 1,
                                 "provisionedThroughPureCloud": True, "selfUri": f"/api/v2/routing/sms/phonenumbers/{number_id}"})
        rid = recipient_id or number_id
        self.recipients.append({"id": rid, "name": e164, "messengerType": "sms",
                                "selfUri": f"/api/v2/routing/message/recipients/{rid}"})
        self.known_ids.update({number_id, rid})

    def add_conversation(self, conversation_id: str, media: str = "messages", communication_id: str | None = None) -> None:
        """A conversation (``Conversation``) whose customer participant has one communication of ``media``."""
        communication = {"id": communication_id or f"comm-{conversation_id}", "state": "connected"}
        self.conversations[conversation_id] = {
            "id": conversation_id,
            "participants": [
                {"id": f"p-cust-{conversation_id}", "purpose": "customer", media: [communication]},
                {"id": f"p-agent-{conversation_id}", "purpose": "agent", media: [{"id": f"agent-{conversation_id}"}]},
            ],
            "selfUri": f"/api/v2/conversations/{conversation_id}",
        }

    def _response(self, model: str, body: Any) -> tuple[int, Any]:
        """The answer, if it has the response model's shape; otherwise a 500 and the problem recorded."""
        found = problems(model, body, request=False)
        if found:
            self.refused.extend(f"response {p}" for p in found)
            return 500, {"message": "the fake's answer does not match " + model, "status": 500}
        return 200, body

    def _check(self, model: str, body: Any) -> tuple[int, Any] | None:
        found = problems(model, body)
        if not found:
            return None
        self.refused.extend(found)
        return 400, {"message": "; ".join(found), "code": "bad.request", "status": 400}

    def _external_contacts(self, method: str, path: str, body: Any,
                           query: dict[str, list[str]] | None = None) -> tuple[int, Any] | None:
        """Enrich (Upsert keyed on identifiers), merge, conversation association, journey sessions."""
        query = query or {}
        for verb, pattern, model in _REQUEST_MODELS:
            if method == verb and pattern.match(path):
                refused = self._check(model, body)
                if refused:
                    return refused
        if method == "POST" and path == "/api/v2/externalcontacts/contacts/enrich":
            if body["action"] != "Upsert":
                return 400, {"message": "this fake models action Upsert only", "status": 400}
            identifiers = body["matchingIdentifiers"]
            if not 1 <= len(identifiers) <= 25:
                return 400, {"message": "matchingIdentifiers: between 1 and 25", "status": 400}
            owners = {self.owner_of(i["type"], i["value"]) for i in identifiers} - {None}
            if len(owners) > 1:
                return 409, {"message": "identifiers belong to several contacts", "status": 409}
            # The request's id is a bulk tracker: it never picks the contact.
            contact_id = str(owners.pop()) if owners else f"contact-{len(self.contacts) + 1}"
            contact = self.contacts.setdefault(contact_id, {"id": contact_id, "identifiers": []})
            for ident in identifiers:
                if not any(i["type"] == ident["type"] and i["value"] == ident["value"] for i in contact["identifiers"]):
                    contact["identifiers"].append(ident)
            return 200, {"id": contact_id, "selfUri": f"/api/v2/externalcontacts/contacts/{contact_id}"}
        if method == "POST" and path == "/api/v2/externalcontacts/contacts/merge":
            ids = body["contactIds"]
            if not 2 <= len(ids) <= 25 or any(i not in self.contacts for i in ids):
                return 400, {"message": "contactIds must name 2 to 25 existing contacts", "status": 400}
            merged_id = f"contact-{len(self.contacts) + 1}"
            merged: dict[str, Any] = {"id": merged_id, "identifiers": [], "mergedFrom": ids}
            for contact_id in ids:
                merged["identifiers"] += self.contacts.pop(contact_id)["identifiers"]
            self.contacts[merged_id] = merged
            return 200, {"id": merged_id, "selfUri": f"/api/v2/externalcontacts/contacts/{merged_id}"}
        match = re.match(r"^/api/v2/externalcontacts/conversations/(?P<id>[^/]+)$", path)
        if method == "PUT" and match:
            if body["conversationId"] != match["id"] or match["id"] not in self.conversations:
                return 404, {"message": f"conversation {match['id']} not found", "status": 404}
            if body.get("externalContactId") not in self.contacts:
                return 404, {"message": f"external contact {body.get('externalContactId')} not found", "status": 404}
            self.associations[match["id"]] = body
            return 202, None
        match = re.match(r"^/api/v2/externalcontacts/contacts/(?P<id>[^/]+)/journey/sessions$", path)
        if method == "GET" and match:
            sessions = self.journey_sessions.get(match["id"], [])
            size = int((query.get("pageSize") or ["25"])[0])
            start = int((query.get("after") or ["0"])[0])
            listing: dict[str, Any] = {"entities": sessions[start:start + size]}
            if start + size < len(sessions):  # a cursor listing (SessionListing.nextUri)
                listing["nextUri"] = f"{path}?pageSize={size}&after={start + size}"
            return 200, listing
        match = re.match(r"^/api/v2/conversations/(?P<id>[^/]+)$", path)
        if method == "GET" and match:
            conversation = self.conversations.get(match["id"])
            if conversation is None:
                return 404, {"message": f"conversation {match['id']} not found", "code": "not.found", "status": 404}
            return 200, conversation
        return None

    def _listings(self, method: str, path: str, query: dict[str, list[str]]) -> tuple[int, Any] | None:
        """The GET listings: integration types, config schemas, credential types, SMS numbers, recipients."""
        if method != "GET":
            return None
        if path == "/api/v2/integrations/types":
            return 200, _page(self.integration_types, query)
        match = re.match(r"^/api/v2/integrations/types/(?P<id>[^/]+)/configschemas/(?P<kind>[^/]+)$", path)
        if match:
            if match["kind"] not in ("properties", "advanced"):
                return 400, {"message": f"config type {match['kind']} is not properties or advanced", "status": 400}
            schema = self.config_schemas.get((match["id"], match["kind"]))
            if schema is None:
                return 404, {"message": f"integration type {match['id']} not found", "code": "not.found", "status": 404}
            return 200, schema
        if path == "/api/v2/integrations/credentials/types":
            for item in self.credential_types:  # the SDK answers list[CredentialType]: a bare array
                found = problems("CredentialType", item, request=False)
                if found:
                    self.refused.extend(f"response {p}" for p in found)
                    return 500, {"message": "the fake's answer does not match CredentialType", "status": 500}
            return 200, self.credential_types
        if path == "/api/v2/routing/sms/phonenumbers":
            numbers = self.sms_numbers
            if query.get("phoneNumber"):
                wanted = query["phoneNumber"][0]
                numbers = [n for n in numbers if wanted in n["phoneNumber"]]
            return 200, _page(numbers, query)
        if path == "/api/v2/routing/message/recipients":
            recipients = self.recipients
            if query.get("messengerType"):
                recipients = [r for r in recipients if r.get("messengerType") == query["messengerType"][0]]
            return 200, _page(recipients, query)
        return None


# The SDK call of each GET route: its query parameters are the only ones the fake accepts.
_QUERY_CALLS = (
    (re.compile(r"^/api/v2/externalcontacts/contacts/[^/]+/journey/sessions$"),
     "external_contacts_api", "get_externalcontacts_contact_journey_sessions"),
    (re.compile(r"^/api/v2/conversations/[^/]+$"), "conversations_api", "get_conversation"),
    (re.compile(r"^/api/v2/integrations/types$"), "integrations_api", "get_integrations_types"),
    (re.compile(r"^/api/v2/integrations/types/[^/]+/configschemas/[^/]+$"), "integrations_api",
     "get_integrations_type_configschema"),
    (re.compile(r"^/api/v2/integrations/credentials/types$"), "integrations_api", "get_integrations_credentials_types"),
    (re.compile(r"^/api/v2/routing/sms/phonenumbers$"), "routing_api", "get_routing_sms_phonenumbers"),
    (re.compile(r"^/api/v2/routing/message/recipients$"), "routing_api", "get_routing_message_recipients"),
    (re.compile(r"^/api/v2/routing/message/recipients/[^/]+$"), "routing_api", "get_routing_message_recipient"),
    (re.compile(r"^/api/v2/routing/sms/identityresolution/phonenumbers/[^/]+$"), "routing_api",
     "get_routing_sms_identityresolution_phonenumber"),
    (re.compile(r"^/api/v2/webdeployments/deployments/[^/]+/identityresolution$"), "web_deployments_api",
     "get_webdeployments_deployment_identityresolution"),
)


def _unknown_query(path: str, query: dict[str, list[str]]) -> list[str]:
    for pattern, api, method in _QUERY_CALLS:
        if pattern.match(path):
            allowed = query_parameters(api, method)
            return [f"{key} is not a query parameter of {method} (it takes: {', '.join(sorted(allowed)) or 'none'})"
                    for key in sorted(query) if key not in allowed]
    return [f"no SDK call is recorded for GET {path} (tests/fakes/genesys_api.py _QUERY_CALLS)"] if query else []


_RESPONSE_MODELS = (
    ("POST", re.compile(r"^/api/v2/externalcontacts/contacts/(enrich|merge)$"), "ExternalContact"),
    ("GET", re.compile(r"^/api/v2/externalcontacts/contacts/[^/]+/journey/sessions$"), "SessionListing"),
    ("GET", re.compile(r"^/api/v2/conversations/[^/]+$"), "Conversation"),
    ("GET", re.compile(r"^/api/v2/integrations/types$"), "IntegrationTypeEntityListing"),
    ("GET", re.compile(r"^/api/v2/integrations/types/[^/]+/configschemas/[^/]+$"), "JsonSchemaDocument"),
    ("GET", re.compile(r"^/api/v2/routing/sms/phonenumbers$"), "SmsPhoneNumberEntityListing"),
    ("GET", re.compile(r"^/api/v2/routing/message/recipients$"), "RecipientListing"),
)


def _response_model(method: str, path: str) -> str | None:
    return next((model for verb, pattern, model in _RESPONSE_MODELS if verb == method and pattern.match(path)), None)


def _page(entities: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
    size = int((query.get("pageSize") or [str(PAGE_SIZE)])[0])
    number = int((query.get("pageNumber") or ["1"])[0])
    count = max(1, -(-len(entities) // size))
    return {"entities": entities[(number - 1) * size: number * size], "pageSize": size, "pageNumber": number,
            "total": len(entities), "pageCount": count}


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
            parts = urlsplit(self.path)
            path, query = parts.path, parse_qs(parts.query)
            unknown = _unknown_query(path, query) if method == "GET" else []
            if unknown:
                with state.lock:
                    state.refused.extend(unknown)
                self._send(400, {"message": "; ".join(unknown), "code": "bad.request", "status": 400})
                return
            with state.lock:
                answer = state._external_contacts(method, path, body, query) or state._listings(method, path, query)
            if answer is not None:
                model = _response_model(method, path)
                if model and answer[0] == 200:
                    answer = state._response(model, answer[1])
                self._send(*answer)
                return
            for pattern, request_model, response_model in _DOCUMENTS:
                match = pattern.match(path)
                if not match:
                    continue
                if match["id"] not in state.known_ids:
                    self._send(404, {"message": f"{match['id']} not found", "code": "not.found", "status": 404,
                                     "contextId": "ctx-404"})
                    return
                if method == "PUT":
                    with state.lock:
                        refused = state._check(request_model, body)
                    if refused:
                        self._send(*refused)
                        return
                    assert isinstance(body, dict)  # the model check refuses anything else
                    if response_model == "Recipient":
                        if not (body.get("flow") or {}).get("id"):
                            self._send(400, {"message": "flow.id is required", "status": 400})
                            return
                        recipient = next((r for r in state.recipients if r["id"] == match["id"]),
                                         {"id": match["id"], "messengerType": "sms"})
                        document: dict[str, Any] = {**recipient, "flow": {"id": body["flow"]["id"]}}
                    else:
                        document = body
                    with state.lock:
                        state.documents[path] = document
                    self._send(200, document)
                    return
                if method == "GET":
                    default: dict[str, Any] = {"resolveIdentities": False}
                    if response_model == "Recipient":
                        default = next((r for r in state.recipients if r["id"] == match["id"]), {"id": match["id"]})
                    answer = state._response(response_model, state.documents.get(path, default))
                    self._send(*answer)
                    return
            self._send(404, {"message": f"no route {method} {path}", "status": 404})

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
