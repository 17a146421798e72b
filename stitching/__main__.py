"""``python -m stitching serve|migrate|bench``: run the service, apply migrations, or measure it."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stitching.config import ServiceSettings
from stitching.errors import StitchingError

DEV_TOKEN_FILE = Path("build/stitching/dev-api-token")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stitching", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP service (migrates the database first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1, help="server processes (PostgreSQL or one SQLite file)")
    serve.add_argument("--dev", action="store_true",
                       help=f"embedded default: generate a caller token once into {DEV_TOKEN_FILE} when none is set")
    serve.add_argument("--clock-file", metavar="PATH",
                       help="dev only (needs --dev): read 'now' from PATH (one ISO 8601 time, e.g. 2026-11-21T10:00:00Z) "
                            "on every request; also STITCHING_DEV_CLOCK_FILE")
    sub.add_parser("migrate", help="apply pending database migrations and exit")
    bench = sub.add_parser("bench", help="throughput and latency of stitch and context beside a no-op endpoint")
    from stitching.bench import add_arguments

    add_arguments(bench)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request would drown the figures
    try:
        if args.command == "serve":
            return _serve(args)
        if args.command == "migrate":
            return _migrate()
        from stitching.bench import run

        return run(args)
    except StitchingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _settings() -> ServiceSettings:
    return ServiceSettings.from_environ()


def _migrate() -> int:
    from stitching.store import Store

    settings = _settings()
    store = Store(settings.database_url, 1)
    try:
        applied = store.migrate()
    finally:
        store.close()
    print(f"migrations applied: {applied or 'none (schema current)'}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from stitching.store import Store

    if args.dev and not (os.environ.get("STITCHING_API_TOKEN") or os.environ.get("STITCHING_API_TOKEN_FILE")):
        if not DEV_TOKEN_FILE.exists():
            DEV_TOKEN_FILE.parent.mkdir(parents=True, exist_ok=True)
            DEV_TOKEN_FILE.write_text(secrets.token_urlsafe(32))
            DEV_TOKEN_FILE.chmod(0o600)
        os.environ["STITCHING_API_TOKEN_FILE"] = str(DEV_TOKEN_FILE)
        print(f"caller token (dev): read it from {DEV_TOKEN_FILE}", file=sys.stderr)
    _dev_clock(args)
    settings = _settings()
    store = Store(settings.database_url, 1)
    try:
        store.migrate()
    finally:
        store.close()
    options = {"host": args.host, "port": args.port, "log_level": "info", "access_log": False, "proxy_headers": True,
               "timeout_graceful_shutdown": 10}
    if args.workers > 1:
        uvicorn.run("stitching.server:app", factory=True, workers=args.workers, **options)
        return 0
    _GracefulServer(uvicorn.Config("stitching.server:app", factory=True, **options)).run()
    return 0


def _dev_clock(args: argparse.Namespace) -> None:
    """Hand a dev clock file to the server processes (through the environment, which workers inherit), or refuse it."""
    from stitching import devclock

    os.environ.pop(devclock.DEV_MODE_ENV, None)  # only --dev turns dev mode on
    path = args.clock_file or os.environ.get(devclock.CLOCK_FILE_ENV, "").strip()
    if not path:
        return
    os.environ[devclock.CLOCK_FILE_ENV] = str(devclock.validate(path, args.dev))
    os.environ[devclock.DEV_MODE_ENV] = "1"
    print(f"clock (dev): 'now' is read from {os.environ[devclock.CLOCK_FILE_ENV]} on every request", file=sys.stderr)


class _GracefulServer:
    """uvicorn's server, but a SIGTERM or SIGINT ends in a graceful shutdown and exit code 0 (uvicorn re-raises
    the signal after shutting down, which reads as a crash to supervisors and scripts)."""

    def __init__(self, config: Any) -> None:
        import uvicorn

        server = uvicorn.Server(config)

        @contextlib.contextmanager
        def capture_signals() -> Iterator[None]:
            previous = {sig: signal.signal(sig, server.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

        server.capture_signals = capture_signals  # type: ignore[method-assign]
        self.server = server

    def run(self) -> None:
        self.server.run()


if __name__ == "__main__":
    sys.exit(main())
