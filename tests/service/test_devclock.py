"""The development clock: a real server reads "now" from a file on every request, and only in dev mode."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from stitching import devclock, process
from stitching.errors import ConfigError
from tests.service.conftest import AUTH, ROOT, TOKEN

WEB_CHAT = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


def test_a_served_process_takes_now_from_the_clock_file_on_every_request(tmp_path: Path) -> None:
    clock_file = tmp_path / "now"
    process.set_clock(clock_file, WEB_CHAT)
    service = process.start(f"sqlite:///{tmp_path}/db.sqlite", TOKEN, tmp_path / "service.log", clock_file=clock_file)
    try:
        with httpx.Client(base_url=service.url, headers=AUTH, timeout=10) as client:
            first = client.post("/v1/stitch", json={"channel": "sms", "conversationId": "sms-1", "phone": "+12024443333",
                                                    "phoneVerified": True})
            assert first.status_code == 200, first.text
            assert client.post("/v1/interactions", json={"conversationId": "sms-1", "agentId": "agent-1"}).status_code == 200

            assert process.advance_clock(clock_file, timedelta(hours=1)) == WEB_CHAT + timedelta(hours=1)
            hour_later = client.get("/v1/context", params={"phone": "+12024443333", "excludeConversationId": "sms-2"}).json()
            assert hour_later["agentId"] == "agent-1" and hour_later["minutesAgo"] == 60

            process.advance_clock(clock_file, timedelta(hours=3))  # past the 2 h window
            later = client.get("/v1/context", params={"phone": "+12024443333"}).json()
            assert later["agentId"] is None and later["reason"] == "no_recent_interaction"

            # An event time is judged against the file's "now": an hour before it is fine, a day after is refused.
            before = (WEB_CHAT + timedelta(hours=3)).isoformat().replace("+00:00", "Z")
            assert client.post("/v1/stitch", json={"channel": "sms", "conversationId": "sms-3", "phone": "+12024443333",
                                                   "phoneVerified": True, "occurredAt": before}).status_code == 200
            future = (WEB_CHAT + timedelta(days=1)).isoformat().replace("+00:00", "Z")
            refused = client.post("/v1/stitch", json={"channel": "sms", "conversationId": "sms-4", "phone": "+12024443333",
                                                      "phoneVerified": True, "occurredAt": future})
            assert refused.status_code == 422 and refused.json()["field"] == "occurredAt"
    finally:
        assert service.stop() == 0


def _serve(args: list[str], extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STITCHING_")}
    env.update(STITCHING_API_TOKEN=TOKEN, STITCHING_DATABASE_URL="sqlite:///" + str(Path(extra_env.pop("DB"))), **extra_env)
    return subprocess.run([sys.executable, "-m", "stitching", "serve", "--port", str(process.free_port()), *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=30, check=False)


@pytest.mark.parametrize("how", ["flag", "environment", "environment with a forged dev mode"])
def test_a_clock_file_is_refused_without_dev_mode(tmp_path: Path, how: str) -> None:
    clock_file = tmp_path / "now"
    process.set_clock(clock_file, WEB_CHAT)
    env = {"DB": str(tmp_path / "db.sqlite")}
    args: list[str] = []
    if how == "flag":
        args = ["--clock-file", str(clock_file)]
    else:
        env[devclock.CLOCK_FILE_ENV] = str(clock_file)
        if how.endswith("forged dev mode"):
            env[devclock.DEV_MODE_ENV] = "1"  # only `serve --dev` may set it
    done = _serve(args, env)
    assert done.returncode == 2, done.stderr[-500:]
    assert "for development only" in done.stderr and "Traceback" not in done.stderr


def test_a_malformed_clock_file_is_refused_at_start_with_a_one_line_error(tmp_path: Path) -> None:
    clock_file = tmp_path / "now"
    clock_file.write_text("2026-11-21T10:00:00\n")  # no time zone
    done = _serve(["--dev", "--clock-file", str(clock_file)], {"DB": str(tmp_path / "db.sqlite")})
    assert done.returncode == 2 and "time zone" in done.stderr and "Traceback" not in done.stderr


def test_the_file_clock_reads_each_call_and_keeps_the_last_good_time_over_a_half_written_file(tmp_path: Path) -> None:
    clock_file = tmp_path / "now"
    clock = devclock.FileClock(clock_file)
    real = datetime.now(UTC).timestamp() * 1000
    assert abs(clock() - real) < 5_000  # no file: the real time
    devclock.set_clock(clock_file, WEB_CHAT)
    assert clock() == int(WEB_CHAT.timestamp() * 1000)
    clock_file.write_text("2026-11-21T1")
    assert clock() == int(WEB_CHAT.timestamp() * 1000)
    clock_file.write_text("2026-11-21T12:30:00+02:00")
    assert clock() == int(datetime(2026, 11, 21, 10, 30, tzinfo=UTC).timestamp() * 1000)
    clock_file.write_text("")
    assert abs(clock() - real) < 5_000


def test_dev_mode_comes_only_from_the_environment_serve_dev_sets() -> None:
    assert devclock.from_environ({}) is None
    with pytest.raises(ConfigError, match="development only"):
        devclock.from_environ({devclock.CLOCK_FILE_ENV: "/tmp/now"})
    assert isinstance(devclock.from_environ({devclock.CLOCK_FILE_ENV: f"/tmp/{uuid.uuid4().hex}",
                                             devclock.DEV_MODE_ENV: "1"}), devclock.FileClock)


def test_the_production_image_and_the_kubernetes_deployment_never_use_dev_mode() -> None:
    containerfile = (ROOT / "containers" / "stitching.Containerfile").read_text()
    deployment = (ROOT / "components" / "stitching_service.py").read_text()
    for text in (containerfile, deployment):
        assert "--dev" not in text and "--clock-file" not in text
        assert devclock.CLOCK_FILE_ENV not in text and devclock.DEV_MODE_ENV not in text
