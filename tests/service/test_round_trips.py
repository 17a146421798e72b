"""The round trips each kind of call makes to PostgreSQL, as ``python -m stitching bench --round-trips`` counts
them (through a relay that counts the client's turns): what the README states."""

from __future__ import annotations

import re

import pytest

from stitching.roundtrips import count_round_trips
from tests.service.conftest import PostgresServer

EXPECTED = {
    "stitch, returning SMS customer (matched)": 1.0,
    "stitch, new SMS sender (created)": 1.0,
    "stitch, web login on a known session": 2.0,
    "stitch with an Idempotency-Key (matched)": 1.0,
    "stitch, idempotent replay": 1.0,
    "context by phone": 1.0,
    "context by profile id": 1.0,
}


def test_round_trips_per_kind_of_call(postgres_server: PostgresServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert count_round_trips(postgres_server.admin_url) == 0
    printed = capsys.readouterr().out
    found = {match[1].strip(): float(match[2])
             for match in re.finditer(r"^(.+?)\s{2,}(\d+\.\d)\s+\d+\.\d\s+\d+\.\d$", printed, re.MULTILINE)}
    assert found == EXPECTED, printed
