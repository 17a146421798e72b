"""The README's main command: the cross-channel journey through the real data actions routes as promised."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from genesys_identity.demo import Demo, journey
from tests.service.conftest import TOKEN, ServiceProcess


def test_the_journey_routes_the_sms_to_the_web_agent_within_the_window_only(
    tmp_path: Path, services: Callable[..., ServiceProcess]
) -> None:
    service = services(f"sqlite:///{tmp_path}/demo.db")
    demo = Demo(service.url, TOKEN)
    printed: list[str] = []
    decisions = journey(demo, datetime.now(UTC) - timedelta(hours=3, minutes=10), say=printed.append)
    demo.client.close()
    assert decisions == [
        "web chat: queue (web)",
        "sms after 60 min: route to the last agent 6f1a3c2e",
        "sms after 180 min: route normally (SMS queue)",
        "anonymous claim: refused: the phone stays with its owner",
    ]
    assert any('getting help with failed password reset' in line for line in printed)
