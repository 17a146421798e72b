"""The ASGI factory uvicorn runs (``stitching.server:app``, factory=True): settings are read here, per process."""

from __future__ import annotations

from stitching import devclock
from stitching.api.app import ASGIApp, asgi
from stitching.config import ServiceSettings


def app() -> ASGIApp:
    settings = ServiceSettings.from_environ()
    clock = devclock.from_environ()  # None unless `serve --dev --clock-file` (development only)
    return asgi(settings) if clock is None else asgi(settings, clock=clock)
