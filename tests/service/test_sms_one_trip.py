"""The commonest stitch, a text from a phone number, runs as one ``stitch_sms`` call on PostgreSQL (migration 6).
It must answer, write and count exactly what the service's full unit of work (snapshot, ``decide``, ``_apply``)
does: the full path is the reference, and a corpus of requests runs both ways."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from stitching.errors import StitchingError
from stitching.service import EnrollRequest, RecordRequest, StitchingService, StitchRequest
from stitching.store import Store
from tests.service.conftest import ISSUER, Clock, make_settings, spy_round_trips

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
TABLES = ("profiles", "links", "claims", "web_sessions", "conversations", "merges", "idempotency", "audit", "outbox")


def _corpus(service: StitchingService, clock: Clock) -> list[Any]:
    """Texts of every shape the one call decides and of the shapes it must hand back, with the states between."""
    answers: list[Any] = []

    def call(fn: Callable[[], Any]) -> None:
        try:
            reply = fn()
            answers.append(["replayed" if reply.replayed else "answered", reply.body])
        except StitchingError as exc:  # 409s and 422s: the same refusal both ways
            answers.append([type(exc).__name__, str(exc)])
        clock.advance(1)

    def sms(conversation: str, phone: str, key: str | None = None, **extra: Any) -> None:
        call(lambda: service.stitch(StitchRequest(channel="sms", conversation_id=conversation, phone=phone,
                                                  phone_verified=True, **extra), key, "req-" + conversation))

    sms("c1", "202-555-0101", "k1")  # unknown phone, new conversation: created (the raw text kept)
    sms("c2", "+12025550101")  # linked phone: matched
    sms("c3", "(202) 555-0101", "k3")  # the same number typed another way: matched
    sms("c1", "202-555-0101", "k1")  # a retry: the stored answer
    sms("c9", "+12025550101", "k1")  # the key with another request: 409
    sms("c2", "+12025550101")  # a known conversation: the full unit of work
    sms("c2", "+12025550199")  # another phone on a known conversation: the conversation's profile
    call(lambda: service.record(RecordRequest("c2", "agent-1", "queue-1", "billing", "done")))
    sms("c4", "+12025550102", occurred_at=clock() - 60_000)  # the event's own time
    sms("c5", "+12025550103", last_name="Reyes")  # context given: not the one call
    call(lambda: service.stitch(StitchRequest(channel="sms", conversation_id="c6", phone="+12025550104",
                                              phone_verified=False)))  # not vouched for
    call(lambda: service.enroll(EnrollRequest(source="crm-sync", anchor_crm_id="crm-7", phone="+12025550105"), "e1"))
    sms("c7", "+12025550105", "k7")  # a phone the CRM enrolled: matched to that profile
    call(lambda: service.stitch(StitchRequest(channel="web", conversation_id="c8", web_session_id="s1",
                                              oidc_issuer=ISSUER, oidc_subject="dana", oidc_verified=True,
                                              phone="+12025550106")))
    sms("c10", "+12025550106")  # a phone a web visitor typed (a suggestion, not a link): created
    sms("c11", "+12025550101", "k11")
    sms("c11", "+12025550101", "k11")  # a retry of a matched text
    return answers


def _rows(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {table: conn.execute(f"SELECT * FROM {table}").fetchall() for table in TABLES}


def _canonical(answers: list[Any], rows: dict[str, list[tuple[Any, ...]]]) -> tuple[str, dict[str, list[str]]]:
    """Profile and merge ids are random: each is named by its first appearance in the answers, then in the rows."""
    names: dict[str, str] = {}

    def rename(text: str) -> str:
        return UUID.sub(lambda m: names.setdefault(m.group(0), f"<id {len(names)}>"), text)

    answered = rename(json.dumps(answers, sort_keys=True))
    tables = {table: sorted(rename(json.dumps(row, default=str)) for row in found) for table, found in rows.items()}
    return answered, tables


@pytest.fixture
def run(new_pg_store: Callable[[], tuple[Store, str]], monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Any]]:
    def run_corpus(one_trip: bool, mirror: bool) -> tuple[Any, ...]:
        if not one_trip:
            monkeypatch.setattr(StitchingService, "_sms_one_trip", lambda *args: None)
        round_trips = spy_round_trips(monkeypatch)
        store, url = new_pg_store()
        clock = Clock()
        service = StitchingService(store, make_settings(url), clock=clock)
        service.mirror = mirror
        answers = _corpus(service, clock)
        metrics = [line for line in service.metrics.render().decode().splitlines()
                   if line.startswith("stitching_") and "_created" not in line]
        monkeypatch.undo()
        return (*_canonical(answers, _rows(url)), metrics, [statement for trip in round_trips for statement in trip])

    yield run_corpus


@pytest.mark.parametrize("mirror", [False, True], ids=["plain", "genesys-mirror"])
def test_one_call_answers_writes_and_counts_what_the_full_unit_of_work_does(run: Callable[..., Any],
                                                                           mirror: bool) -> None:
    fast_answers, fast_rows, fast_metrics, fast_calls = run(True, mirror)
    full_answers, full_rows, full_metrics, full_calls = run(False, mirror)
    assert fast_answers == full_answers
    assert fast_rows == full_rows
    assert fast_metrics == full_metrics
    # the corpus means something: each kind of answer happened, and both paths really ran
    linked_to_the_conversations_profile = '"decision": "matched", "merges": [], "outcomes": [{"reason": "verified_identifier"'
    for expected in ('"decision": "created"', '"decision": "matched"', '"replayed"', '"Conflict"', "context_only",
                     linked_to_the_conversations_profile, "phone:suggested:unverified_claim", "202-555-0101"):
        assert expected in fast_answers + json.dumps(fast_rows), expected
    assert bool(fast_rows["outbox"]) == mirror
    sms_calls = sum(b"stitch_sms(" in call for call in fast_calls)
    assert sms_calls >= 10 and not any(b"stitch_sms(" in call for call in full_calls)


def test_a_text_is_one_round_trip(new_pg_store: Callable[[], tuple[Store, str]],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """BEGIN, the call and COMMIT go to the server together, for a new sender and for a returning one."""
    store, url = new_pg_store()
    round_trips = spy_round_trips(monkeypatch)
    service = StitchingService(store, make_settings(url), clock=Clock())
    for conversation in ("t1", "t2"):
        round_trips.clear()
        body = service.stitch(StitchRequest(channel="sms", conversation_id=conversation, phone="+12025550101",
                                            phone_verified=True), f"key-{conversation}").body
        assert len(round_trips) == 1, round_trips
        (statements,) = round_trips
        assert len(statements) == 3 and statements[0] == b"BEGIN" and statements[2] == b"COMMIT"
        assert statements[1].startswith(b"SELECT stitch_sms(")
    assert body["decision"] == "matched"
