"""Running the service as a separate process (the demo, the benchmark and the tests do): start, wait, stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from stitching import devclock
from stitching.errors import StitchingError

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServiceProcess:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20) -> int:
        """Signal the process (SIGTERM: graceful shutdown, exit 0) and wait for it; returns its exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=timeout)


def start(database_url: str, token: str, log: Path, *, workers: int = 1, env: Mapping[str, str] | None = None,
          ready_within_s: float = 30, clock_file: Path | None = None) -> ServiceProcess:
    """``python -m stitching serve`` on a free loopback port, returned once ``/readyz`` answers 200.

    ``clock_file`` (development only) starts it with ``--dev --clock-file``: the service's "now" is then the
    instant in that file, which ``set_clock`` and ``advance_clock`` change between requests."""
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STITCHING_")}
    environment.update(STITCHING_DATABASE_URL=database_url, STITCHING_API_TOKEN=token, PYTHONUNBUFFERED="1", **(env or {}))
    command = [sys.executable, "-m", "stitching", "serve", "--port", str(port), "--workers", str(workers)]
    if clock_file is not None:
        command += ["--dev", "--clock-file", str(clock_file)]
    output = log.open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=environment, stdout=output, stderr=subprocess.STDOUT)
    output.close()
    service = ServiceProcess(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + ready_within_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StitchingError(f"the stitching service exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{service.url}/readyz", timeout=1).status_code == 200:
                return service
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    service.stop(signal.SIGKILL)
    raise StitchingError(f"the stitching service did not become ready within {ready_within_s:.0f} s")


def set_clock(clock_file: Path, when: datetime) -> None:
    """Set the "now" of a service started with ``clock_file`` (an aware datetime; written atomically)."""
    devclock.set_clock(clock_file, when)


def advance_clock(clock_file: Path, delta: timedelta) -> datetime:
    """Move that service's "now" forward by ``delta`` (from the real time if never set); returns the new instant."""
    return devclock.advance_clock(clock_file, delta)
