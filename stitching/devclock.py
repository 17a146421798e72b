"""A controllable clock for demos and tests, development only: "now" is read from a file on every request.

``python -m stitching serve --dev --clock-file PATH`` (or ``STITCHING_DEV_CLOCK_FILE=PATH`` with ``--dev``) makes
the service take its time from PATH, which holds one ISO 8601 instant with a time zone
(``2026-11-21T10:00:00Z``). The time stands still until the file is rewritten, so a demo can replay "the SMS
arrives one hour after the web chat" through the real API without any time input in the requests. A missing or
empty file means the real time. Without ``--dev`` the setting is refused at start-up; the production image never
passes ``--dev``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from stitching.errors import ConfigError

log = logging.getLogger("stitching.devclock")

CLOCK_FILE_ENV = "STITCHING_DEV_CLOCK_FILE"
DEV_MODE_ENV = "STITCHING_DEV_MODE"  # set by ``serve --dev`` for its server processes; never in production config


def parse_instant(text: str) -> int:
    """Epoch milliseconds of an ISO 8601 instant that names its time zone; ValueError otherwise."""
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise ValueError("the time needs a time zone, e.g. 2026-11-21T10:00:00Z")
    return int(value.timestamp() * 1000)


def format_instant(when: datetime) -> str:
    if when.tzinfo is None:
        raise ValueError("the time needs a time zone (use datetime(..., tzinfo=UTC))")
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FileClock:
    """Epoch milliseconds from the file's instant, read on every call.

    A file that cannot be parsed (caught mid-edit by a text editor, say) keeps the last good instant and logs
    why; a request never fails because of the clock.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._last: int | None = None
        self._lock = threading.Lock()

    def __call__(self) -> int:
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            text = ""
        except OSError as exc:
            log.warning("dev clock: cannot read %s (%s); keeping the last time", self.path, exc.strerror)
            return self._fallback()
        if not text:
            return time.time_ns() // 1_000_000
        try:
            now = parse_instant(text)
        except ValueError:
            log.warning("dev clock: %s does not hold an ISO 8601 time with a zone; keeping the last time", self.path)
            return self._fallback()
        with self._lock:
            self._last = now
        return now

    def _fallback(self) -> int:
        with self._lock:
            return self._last if self._last is not None else time.time_ns() // 1_000_000


def validate(path: str, dev: bool) -> Path:
    """The clock file to use, checked at start-up: dev mode only, and a readable instant when the file exists."""
    if not dev:
        raise ConfigError(f"{CLOCK_FILE_ENV} / --clock-file is for development only: run `serve --dev` to use it")
    clock_path = Path(path).resolve()
    if clock_path.exists():
        text = clock_path.read_text(encoding="utf-8").strip()
        if text:
            try:
                parse_instant(text)
            except ValueError as exc:
                raise ConfigError(f"{CLOCK_FILE_ENV}: {clock_path}: {exc}") from None
    elif not clock_path.parent.is_dir():
        raise ConfigError(f"{CLOCK_FILE_ENV}: folder {clock_path.parent} does not exist")
    return clock_path


def from_environ(environ: Mapping[str, str] | None = None) -> FileClock | None:
    """The server processes' clock: a FileClock when ``serve --dev`` passed a clock file, else None (real time)."""
    env = os.environ if environ is None else environ
    path = env.get(CLOCK_FILE_ENV, "").strip()
    if not path:
        return None
    clock_path = validate(path, env.get(DEV_MODE_ENV) == "1")
    log.warning("dev clock: the service takes 'now' from %s (development only)", clock_path)
    return FileClock(clock_path)


def set_clock(path: Path, when: datetime) -> None:
    """Write the instant atomically (a request never reads half a file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(format_instant(when) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def read_clock(path: Path) -> datetime | None:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return datetime.fromtimestamp(parse_instant(text) / 1000, UTC) if text else None


def advance_clock(path: Path, delta: timedelta) -> datetime:
    """Move the file's instant forward (from the real time when the file is empty) and return the new instant."""
    current = read_clock(path) or datetime.now(UTC)
    moved = current + delta
    set_clock(path, moved)
    return moved
