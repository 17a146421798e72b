"""Migration 3 rewrites the old ambiguous OIDC keys; a store upgraded in place keeps every customer (both stores)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from stitching.domain.identifiers import normalize_oidc
from stitching.store import Store
from stitching.store import engine as engine_module
from stitching.store.migrations import MIGRATIONS
from tests.service.conftest import Api, make_settings

ISSUER = "https://login.example.com"


def _store_at_version_2(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Store:
    monkeypatch.setattr(engine_module, "MIGRATIONS", MIGRATIONS[:2])
    store = Store(database_url, 2)
    assert store.migrate() == [1, 2]
    monkeypatch.setattr(engine_module, "MIGRATIONS", MIGRATIONS)
    return store


def test_old_oidc_keys_are_rewritten_and_their_customers_found_again(
    database_url: str, monkeypatch: pytest.MonkeyPatch, app_factory: Callable[..., TestClient],
) -> None:
    store = _store_at_version_2(database_url, monkeypatch)
    with store.unit_of_work() as conn:
        for pid in ("p-old", "p-absorbed"):
            conn.execute("INSERT INTO profiles (id, created_at) VALUES (?, 1)", (pid,))
        conn.execute("INSERT INTO links (type, value, raw, profile_id, verified, reason, created_at) "
                     "VALUES ('oidc', ?, ?, 'p-old', TRUE, 'verified_identifier', 1)",
                     (f"{ISSUER}|al|ice", f"{ISSUER}|al|ice"))
        conn.execute("INSERT INTO claims (type, value, profile_id, verified, first_at, last_at) "
                     "VALUES ('oidc', ?, 'p-old', TRUE, 1, 1)", (f"{ISSUER}|al|ice",))
        conn.execute("INSERT INTO links (type, value, raw, profile_id, verified, reason, created_at) "
                     "VALUES ('oidc', ?, ?, 'p-old', TRUE, 'verified_identifier', 1)", (f"{ISSUER}|bo", f"{ISSUER}|bo"))
        # A merge made before the upgrade moved bo's login into p-old; its record keeps the old key.
        conn.execute("UPDATE profiles SET status = 'merged', merged_into = 'p-old' WHERE id = 'p-absorbed'")
        conn.execute("INSERT INTO merges (id, survivor_id, absorbed_id, reason, factors, moved_links, "
                     "moved_conversations, created_at) VALUES ('m-old', 'p-old', 'p-absorbed', 'verified_multi_factor', "
                     "?, ?, '[]', 1)", (json.dumps(["phone", "email"]), json.dumps([["oidc", f"{ISSUER}|bo"]])))
    assert store.migrate()[0] == 3  # and any later ones
    assert store.migrate() == []
    with store.unit_of_work(write=False) as conn:
        values = sorted(str(r[0]) for r in conn.rows("SELECT value FROM links WHERE type = 'oidc'"))
        claims = [str(r[0]) for r in conn.rows("SELECT value FROM claims WHERE type = 'oidc'")]
    alice, bo = normalize_oidc(ISSUER, "al|ice").value, normalize_oidc(ISSUER, "bo").value
    assert values == sorted([alice, bo]) and claims == [alice]
    store.close()

    api = Api(app_factory(make_settings(database_url)))
    again = api.stitch(channel="web", conversationId="w-1", oidcIssuer=ISSUER, oidcSubject="al|ice", oidcVerified=True)
    assert again["profileId"] == "p-old" and again["created"] is False
    # The old merge's record names bo's login by its old key; undoing it still gives the login back.
    undone = api.unmerge("m-old")
    assert undone["restoredLinks"] == 1 and undone["linksGoneSinceMerge"] == 0
    assert api.stitch(channel="web", conversationId="w-2", oidcIssuer=ISSUER, oidcSubject="bo",
                      oidcVerified=True)["profileId"] == "p-absorbed"
