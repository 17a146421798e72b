"""Storage behind one interface: SQLite (the embedded default) or PostgreSQL, chosen by the database URL."""

from stitching.store.engine import Store

__all__ = ["Store"]
