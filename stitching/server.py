"""The ASGI factory uvicorn runs (``stitching.server:app``, factory=True): settings are read here, per process."""

from __future__ import annotations

from stitching.api.app import ASGIApp, asgi
from stitching.config import ServiceSettings


def app() -> ASGIApp:
    return asgi(ServiceSettings.from_environ())
