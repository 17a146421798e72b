"""The identifier checks' fast paths give exactly what the plain implementations they replaced gave.

The reference implementations below are the previous code, kept here only: every value of the junk corpus of the
other tests, more hand-picked edge cases and hypothesis-generated text (ASCII, controls, Unicode spaces, full-width
and compatibility forms, quotes and brackets) must get the same answer, the same error message and the same part.
"""

from __future__ import annotations

import dataclasses
import json
import re
import unicodedata
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import idna
import pytest
from fastapi.routing import APIRoute, request_response
from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from stitching import service as service_module
from stitching.api.app import _reply
from stitching.domain import identifiers as ids
from stitching.domain.identifiers import IdentifierError, IdentifierType
from stitching.metrics import Metrics
from stitching.service import EnrollRequest, RecordRequest, Reply, StitchRequest, _payload, encode_body, new_id
from stitching.store import Store
from tests.service.conftest import AUTH, Api, make_settings

# -- the previous implementations (reference only) -----------------------------------------------------------------


def ref_placeholder_form(text: str) -> str:
    folded = "".join(unicodedata.normalize("NFKC", text).casefold().split())
    previous = None
    while folded != previous:
        previous = folded
        folded = folded.strip(ids._QUOTES_AND_BRACKETS)
    return folded


def ref_is_placeholder(text: str) -> bool:
    form = ref_placeholder_form(text)
    if form in ids.BLOCKED_VALUES or "[objectobject]" in form:
        return True
    if not any(ch.isalnum() for ch in form):
        return True
    alnum = [ch for ch in form if ch.isalnum()]
    if all(ch == "0" for ch in alnum):
        return True
    words = [w for w in re.split(r"[^0-9a-z]+", form) if w]
    return bool(words) and all(w in ids._JUNK_WORDS or w.strip("0") == "" for w in words)


def ref_clean(raw: str, kind: IdentifierType, part: str | None = None) -> str:
    text = raw.strip()
    label = f"{kind} {part}" if part else str(kind)
    if len(text) > ids.MAX_RAW_LENGTH:
        raise IdentifierError(f"{label}: longer than {ids.MAX_RAW_LENGTH} characters", part)
    if any(unicodedata.category(ch) in ("Cc", "Cs", "Cf") for ch in text):
        raise IdentifierError(f"{label}: contains a NUL, control or invisible format character", part)
    if ref_is_placeholder(text):
        raise IdentifierError(f"{label}: a placeholder value, not an identifier", part)
    return text


def ref_ascii_lower(text: str) -> str:
    return "".join(chr(ord(ch) + 32) if "A" <= ch <= "Z" else ch for ch in text)


def ref_normalize_opaque(raw: str, kind: IdentifierType) -> tuple[str, str]:
    text = ref_clean(raw, kind)
    if any(ch.isspace() or not ch.isprintable() for ch in text):
        raise IdentifierError(f"{kind}: contains spaces or control characters")
    return text, text


def ref_normalize_issuer(issuer: str) -> str:
    iss = ref_clean(issuer, IdentifierType.OIDC, "issuer").rstrip("/")
    try:  # the one deliberate change since: urlsplit's ValueError (a 500 then) is this IdentifierError (a 422)
        parts = urlsplit(iss)
    except ValueError:
        raise IdentifierError("oidc issuer: must be an https URL", "issuer") from None
    if parts.scheme != "https" or not parts.netloc or not iss.startswith("https://"):
        raise IdentifierError("oidc issuer: must be an https URL", "issuer")
    if parts.query or parts.fragment or "|" in iss or "?" in iss or "#" in iss or any(ch.isspace() for ch in iss):
        raise IdentifierError("oidc issuer: must be an https URL without query, fragment, spaces or '|'", "issuer")
    return iss


# -- the corpus ------------------------------------------------------------------------------------------------------

# The junk the other tests send (tests/test_stitching_identifiers.py, tests/service/test_attacks.py) and more.
JUNK = ["NaN", "nan", " NaN ", "Infinity", "-Infinity", "+Infinity", "[object Object]", "[object  object]",
        "undefined", "UNDEFINED", "null", "Null", "(null)", "<null>", '"null"', "None", "nil", "0", "00", "-1", "{}",
        "[]", "''", "-", "...", "N/A", "undefined-undefined", "null_null", "\u00a0", '"undefined"',
        "\uff55\uff4e\uff44\uff45\uff46\uff49\uff4e\uff45\uff44", "", " ", "NaN:NaN", "0.0", "0-0", "-0", "000",
        "((\"null\"))", "[{'undefined'}]", "\uff08null\uff09", "\uff3bobject Object\uff3d", "void 0", "VOID0",
        "test@test.com", "noreply@example.com", "\u3000null\u3000", "null\x1cnull", "\x1f", "n/a", "-nan", "+inf",
        "guest", "Anonymous", "empty-missing", "true_false", "na-na", "0x0", "00:00", "\u2070", "\u00b2", "\u0660",
        "\uff10\uff10", "NULL\u00ad", "\u212a", "\u0130nfinity", "stra\u00dfe", "\u01c5", "\ufb01", "\u2460"]
REAL = ["b-0123456789abcdef0123456789abcdef", "b-0123456789abcdef0123456789abcdef-stitch", "+12022000001",
        "(202) 555-0143", "CRM-0042", "A-1", "nullable-7", "objective", "s-9", "0a", "user-0", "c-1", "s-1",
        "3f1e1c56-0d6a-4a43-9d55-6a0f1e5f3a11", "jane.doe@example.com", "Jane.Doe@Example.COM",
        "\uff41\uff4c\uff49\uff43\uff45@example.com", "\u212aim@example.com", "jo@b\u00fccher.de", "M\u00fcller",
        "\u5f20\u4f1f", "\u0627\u062d\u0645\u062f", "a\u200bb", "\u202eelcia", "CRM\x00-1", "a\tb", "a b", "a\x7fb",
        "a\x85b", "a\u2028b", "\ud800", "x" * 300, " padded ", "https://login.example.com/", "https://i.example|x",
        "http://login.example", "https://login.example?x=1", "https://login.example#f", "https://log in.example",
        "https://login.example\x1c", "https://login.example/\u3000", "https://l\u00f6gin.example"]
CORPUS = JUNK + REAL

# Characters the fast paths treat specially and their Unicode look-alikes.
ALPHABET = ("aAzZ09nNuUlLiIfFdDoObBjJcCtTeE"  # letters of the junk words, both cases, and digits
            " \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x00\x01\x7f\x85\xa0\u2028\u3000\u200b\u202e\u00ad"  # spaces, controls
            "\"'`()[]{}<>-_.:/@+|?#"  # quotes, brackets, separators
            "\uff10\uff11\uff41\uff2e\uff08\uff09\uff3b\uff3d\u2070\u00b2\u0660\u2460\u212a\u0130\u00df\ufb01\u01c5"
            "\u00fc\u5f20\ud800")
TEXT = st.one_of(st.text(alphabet=ALPHABET, max_size=24), st.text(max_size=12),
                 st.lists(st.sampled_from(sorted(ids._JUNK_WORDS | {"0", "00", "x", "NULL", "\uff4e\uff55\uff4c\uff4c"})),
                          max_size=4).flatmap(lambda words: st.sampled_from(["-", "_", ":", " ", "", ".", "\u3000"])
                                              .map(lambda sep: sep.join(words))))


def outcome(fn: Callable[..., object], *args: object) -> tuple[object, ...]:
    """What a call gives: its value, its IdentifierError's message and part, or another ValueError's type and text."""
    try:
        value = fn(*args)
        return ("value", (value.value, value.raw) if isinstance(value, ids.Identifier) else value)
    except IdentifierError as exc:
        return ("error", str(exc), exc.part)
    except ValueError as exc:
        return ("other", type(exc).__name__, str(exc))


def same_everywhere(text: str) -> None:
    assert ids._placeholder_form(text) == ref_placeholder_form(text), repr(text)
    assert ids.is_placeholder(text) is ref_is_placeholder(text), repr(text)
    assert ids._ascii_lower(text) == ref_ascii_lower(text), repr(text)
    for kind, part in ((IdentifierType.PHONE, None), (IdentifierType.OIDC, "subject")):
        assert outcome(ids._clean, text, kind, part) == outcome(ref_clean, text, kind, part), repr(text)
    for kind in (IdentifierType.CRM, IdentifierType.WEB_SESSION):
        assert outcome(ids.normalize_opaque, text, kind) == outcome(ref_normalize_opaque, text, kind), repr(text)
    for issuer in (text, f"https://login.example/{text}", f"https://{text}.example"):
        assert outcome(ids.normalize_issuer, issuer) == outcome(ref_normalize_issuer, issuer), repr(issuer)


@pytest.mark.parametrize("text", CORPUS)
def test_the_corpus_gets_the_previous_answers(text: str) -> None:
    same_everywhere(text)


def test_the_corpus_holds_both_answers_and_the_fast_paths() -> None:
    """The comparison means something: junk and real ids, ASCII and not, each in numbers."""
    answers = [(ref_is_placeholder(t), t.isascii()) for t in CORPUS]
    for wanted in ((True, True), (True, False), (False, True), (False, False)):
        assert answers.count(wanted) >= 5, wanted
    assert {outcome(ref_clean, t, IdentifierType.PHONE)[0] for t in CORPUS} == {"value", "error"}


def test_a_changed_answer_is_caught() -> None:
    """The reference is not the function under test: a variant that forgets the compatibility folding differs."""
    def no_nfkc(text: str) -> bool:
        return ref_is_placeholder(text) if text.isascii() else text.strip().lower() in ids.BLOCKED_VALUES

    assert any(no_nfkc(t) is not ref_is_placeholder(t) for t in CORPUS)


@given(TEXT)
@example("\x1c")
@example("null\x1fnull")
@example("\uff4e\uff55\uff4c\uff4c")
def test_generated_text_gets_the_previous_answers(text: str) -> None:
    same_everywhere(text)


@given(st.text(alphabet=ALPHABET, max_size=20), st.text(alphabet=ALPHABET, max_size=20))
def test_generated_emails_get_the_previous_answers(local: str, domain: str) -> None:
    raw = f"{local}@{domain}"
    new = outcome(ids.normalize_email, raw)

    def reference() -> tuple[str, str]:
        # The previous normalize_email: only its cleaning and lower-casing helpers changed.
        text = ref_clean(raw, IdentifierType.EMAIL)
        lowered = ref_ascii_lower(text)
        if not ids._EMAIL.match(lowered):
            raise IdentifierError("email: not an email address")
        loc, dom = lowered.rsplit("@", 1)
        if ref_placeholder_form(loc) in ids._EMAIL_JUNK_LOCAL:
            raise IdentifierError("email: a placeholder value, not an identifier")
        if not dom.isascii():
            try:
                dom = idna.encode(dom, uts46=False).decode("ascii")
            except (idna.IDNAError, UnicodeError):
                raise IdentifierError("email: the domain is not a valid IDNA 2008 host name "
                                      "(write it in lower case, without full-width or compatibility characters)") from None
        return f"{loc}@{dom}", text

    assert new == outcome(reference), repr(raw)


# -- an answer is serialized once and sent as those bytes ------------------------------------------------------------

BODIES: list[dict[str, Any]] = [
    {"profileId": "p-1", "conversationId": None, "decision": "created", "created": True, "verified": False,
     "outcomes": [{"type": "phone", "result": "linked", "reason": "verified_identifier"}], "merges": [],
     "summary": "phone:linked:verified_identifier"},
    {"source": "crm-sync", "nested": {"list": [1, 2.5, -3, True, None], "empty": {}}, "text": 'quote " \\ / \n \x00'},
    {"non_ascii": "M\u00fcller \u5f20\u4f1f \uff41 \U0001f600", "\u00e9": "key"},
]


@pytest.mark.parametrize("body", BODIES)
def test_an_encoded_reply_is_the_response_json_response_gave(body: dict[str, Any]) -> None:
    for replayed in (False, True):
        before = JSONResponse(body)  # what _reply built before
        if replayed:
            before.headers["Idempotent-Replayed"] = "true"
        after = _reply(Reply(body, replayed, encoded=encode_body(body).encode()))
        assert (after.body, after.raw_headers, after.status_code) == (before.body, before.raw_headers, 200)
        plain = _reply(Reply(body, replayed))  # nothing encoded yet (no Idempotency-Key): serialized by the API
        assert (plain.body, plain.raw_headers) == (before.body, before.raw_headers)
    assert json.loads(encode_body(body)) == body


def test_encode_body_refuses_what_json_response_refuses() -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        encode_body({"x": float("nan")})
    with pytest.raises(ValueError, match="JSON compliant"):
        JSONResponse({"x": float("nan")})


def test_a_stitch_answer_and_its_replay_are_the_bytes_stored_for_the_key(api: Api, migrated: Store) -> None:
    body = {"channel": "sms", "conversationId": "c-json", "phone": "+12025550143", "phoneVerified": True}
    headers = {**AUTH, "Idempotency-Key": "c-json-stitch", "x-request-id": "req-1"}
    first = api.client.post("/v1/stitch", json=body, headers=headers)
    again = api.client.post("/v1/stitch", json=body, headers=headers)
    keyless = api.client.post("/v1/stitch", json={**body, "conversationId": "c-json-2"}, headers=AUTH)
    for response in (first, again, keyless):
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json"
        assert response.content == JSONResponse(response.json()).body  # compact, as JSONResponse renders
        assert int(response.headers["content-length"]) == len(response.content)
    assert first.content == again.content and first.json()["decision"] == "created"
    assert "idempotent-replayed" not in first.headers and again.headers["idempotent-replayed"] == "true"
    assert first.headers["x-request-id"] == again.headers["x-request-id"] == "req-1"
    assert keyless.headers["x-request-id"] and "idempotent-replayed" not in keyless.headers
    with migrated.unit_of_work(write=False) as conn:
        row = conn.one("SELECT response FROM idempotency WHERE key = ?", ("c-json-stitch",))
    assert row is not None and row[0].encode() == first.content


# -- metric children are looked up once ------------------------------------------------------------------------------


def test_a_cached_metric_child_is_the_child_prometheus_gives() -> None:
    metrics = Metrics()
    first = metrics.child(metrics.requests, "/v1/stitch", "200")
    assert first is metrics.requests.labels("/v1/stitch", "200") is metrics.child(metrics.requests, "/v1/stitch", "200")
    assert metrics.child(metrics.requests, "/v1/stitch", "422") is not first
    assert metrics.child(metrics.outcomes, "/v1/stitch", "200") is metrics.outcomes.labels("/v1/stitch", "200")
    first.inc()
    metrics.child(metrics.latency, "/v1/stitch").observe(0.002)
    text = metrics.render().decode()
    assert 'stitching_http_requests_total{route="/v1/stitch",status="200"} 1.0' in text
    assert 'stitching_http_request_seconds_bucket{le="0.0025",route="/v1/stitch"} 1.0' in text
    with pytest.raises(ValueError, match="Incorrect label count"):
        metrics.child(metrics.decisions, "created", "extra")


def test_every_request_and_answer_is_counted_under_its_labels(api: Api) -> None:
    body: dict[str, Any] = {"channel": "sms", "phone": "+12025550143", "phoneVerified": True}
    for n in range(3):
        api.stitch(conversationId=f"c-m{n}", **body)
    api.stitch(expect=422, conversationId="null", **body)
    api.context(phone="+12025550143")
    metrics = api.client.get("/metrics").text
    for line in ('stitching_decisions_total{decision="created"} 1.0', 'stitching_decisions_total{decision="matched"} 2.0',
                 'stitching_identifier_outcomes_total{reason="verified_identifier",result="linked"} 1.0',
                 'stitching_http_requests_total{route="/v1/stitch",status="200"} 3.0',
                 'stitching_http_requests_total{route="/v1/stitch",status="422"} 1.0',
                 'stitching_http_request_seconds_count{route="/v1/stitch"} 4.0',
                 'stitching_context_answers_total{reason="no_agent"} 1.0'):
        assert line in metrics, line


# -- ids and idempotency payloads ----------------------------------------------------------------------------------


def test_new_id_is_a_random_uuid4_in_its_text_form() -> None:
    made = [new_id() for _ in range(4000)]
    assert len(set(made)) == len(made)
    for text in made:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122
    assert {text[19] for text in made} == set("89ab")  # the variant's two free bits are random, as in uuid4
    assert {text[14] for text in made} == {"4"}
    for position in (0, 15, 20, 35):
        assert len({text[position] for text in made}) == 16  # every other hex digit takes every value


@pytest.mark.parametrize("req", [
    StitchRequest(channel="web", conversation_id="c-1", oidc_issuer="https://i.example", oidc_subject="s",
                  oidc_verified=True, phone="+12025550143", last_name="Doe", occurred_at=1_795_000_000_000),
    EnrollRequest(source="crm-sync", anchor_crm_id="CRM-1", email="a@example.com", date_of_birth="1980-01-02"),
    RecordRequest(conversation_id="c-1", agent_id="a-1", topic="billing"),
])
def test_the_idempotency_payload_is_what_asdict_gives(req: StitchRequest | EnrollRequest | RecordRequest) -> None:
    for _ in range(2):  # the field names are listed on the first call and reused
        payload = _payload(req)
        assert payload == dataclasses.asdict(req) and list(payload) == list(dataclasses.asdict(req))


# -- the stitch route skips FastAPI's header solving for a valid Idempotency-Key -------------------------------------

KEYS: list[list[bytes]] = [[], [b""], [b"k-1"], [b"A.b_c:d-9"], [b"a" * 128], [b"a" * 129], [b"bad key"],
                           ["b\u00e4d".encode("latin-1")], [b"a" * 129 + b" "], [b"null"], [b"0"], [b"k-1", b"bad key"],
                           [b"bad key", b"k-1"], [b"k/1"], [b"k+1"], [b"\xff"]]
BODIES_RAW: list[tuple[bytes, str | None]] = [
    (b'{"channel":"sms","conversationId":"c-1","phone":"+12025550143","phoneVerified":true}', "application/json"),
    (b'{"channel":"sms","conversationId":"c-1","phone":"+12025550143"', "application/json"),  # malformed JSON
    (b"", "application/json"),
    (b'{"channel":"fax","conversationId":"c-1"}', "application/json"),  # a field's error
    (b'{"channel":"sms","conversationId":"c-1","bogus":1}', "application/json"),
    (b'{"channel":"sms","conversationId":"c-1","channel":"web"}', "application/json"),  # the guard's duplicate key
    (b'{"channel":"sms","conversationId":"c-1"}', None),
    (b'{"channel":"sms","conversationId":"c-1"}', "text/plain"),
    (b'{"channel":"sms","conversationId":"c-1"}', "application/vnd.x+json; charset=utf-8"),
    (b'\xff\xfe{"channel"', "application/json"),  # not UTF-8 JSON
]


def _answer(client: TestClient, keys: list[bytes], body: bytes, content_type: str | None, n: int) -> tuple[Any, ...]:
    headers = [(b"authorization", AUTH["Authorization"].encode()), (b"x-request-id", b"r-1")]
    headers += [(b"idempotency-key", key) for key in keys]
    if content_type is not None:
        headers.append((b"content-type", content_type.encode()))
    response = client.post("/v1/stitch", content=body.replace(b"c-1", f"c-{n}".encode()), headers=headers)
    text = re.sub(r'"profileId":"[0-9a-f-]{36}"', '"profileId":"P"', response.text)
    return response.status_code, text, sorted(response.headers.items())


def test_the_stitch_route_answers_every_header_and_body_as_fastapi_checks_them(
        tmp_path: Path, app_factory: Callable[..., TestClient]) -> None:
    """Differential: the app as built, and the same app with the route's handler put back to the one FastAPI
    builds for the declared endpoint (its Idempotency-Key parameter solved on every request)."""
    fast = app_factory(make_settings(f"sqlite:///{tmp_path}/fast.db"))
    reference = app_factory(make_settings(f"sqlite:///{tmp_path}/reference.db"))
    guarded: Any = reference.app
    route = next(r for r in guarded.app.router.routes if isinstance(r, APIRoute) and r.path == "/v1/stitch")
    route.app = request_response(route.get_route_handler())
    statuses = []
    n = 0
    for keys in KEYS:
        for body, content_type in BODIES_RAW:
            n += 1
            expected = _answer(reference, keys, body, content_type, n)
            assert _answer(fast, keys, body, content_type, n) == expected, (keys, body, content_type)
            statuses.append(expected[0])
    assert {200, 422} <= set(statuses)
    assert statuses.count(200) >= 5 and statuses.count(422) >= 50
    # The header's own 422 still names it, with pydantic's message.
    answer = _answer(fast, [b"bad key"], BODIES_RAW[3][0], "application/json", 999)
    assert answer[0] == 422 and '"field":"Idempotency-Key"' in answer[1] and "should match pattern" in answer[1]


def test_the_stitch_route_still_documents_its_idempotency_key(api: Api) -> None:
    document = api.client.get("/openapi.json").json()
    stitch = document["paths"]["/v1/stitch"]["post"]
    assert stitch["parameters"] == document["paths"]["/v1/interactions"]["post"]["parameters"]
    assert stitch["parameters"] == [{
        "name": "Idempotency-Key", "in": "header", "required": False,
        "schema": {"anyOf": [{"type": "string", "maxLength": 128, "pattern": "^[A-Za-z0-9._:-]*$"}, {"type": "null"}],
                   "title": "Idempotency-Key"}}]


def test_the_request_hash_text_is_what_json_dumps_gave() -> None:
    """Stored request hashes must stay comparable: the prebuilt encoder writes json.dumps' text."""
    payloads: list[dict[str, Any]] = [
        _payload(StitchRequest(channel="sms", conversation_id="c-1", phone="+1 202 555 0143", phone_verified=True)),
        {"b": 1, "a": [None, True, 1.5, "M\u00fcller \u5f20"], "c": {"z": 1, "y": uuid.UUID(int=7)}},  # default=str
        {"id": "x", "reason": "logout"},
    ]
    for payload in payloads:
        assert service_module._HASH_ENCODER.encode(payload) == json.dumps(payload, sort_keys=True, default=str)
    assert encode_body(payloads[1] | {"c": {}}) == json.dumps(payloads[1] | {"c": {}}, ensure_ascii=False,
                                                               allow_nan=False, indent=None, separators=(",", ":"))


def test_an_identifier_key_read_once_changes_nothing_else() -> None:
    read = ids.normalize_phone("+1 202 555 0143", "US")
    fresh = ids.Identifier(IdentifierType.PHONE, "+12025550143", "+1 202 555 0143")
    assert read.key == ("phone", "+12025550143") and type(read.key[0]) is str
    assert read.key is read.key  # computed once
    assert read == fresh and hash(read) == hash(fresh) and repr(read) == repr(fresh)
    assert dataclasses.replace(read, value="+12025550144").key == ("phone", "+12025550144")
    with pytest.raises(dataclasses.FrozenInstanceError):
        read.value = "x"  # type: ignore[misc]
