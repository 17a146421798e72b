"""Prometheus metrics, one registry per app (tests create many apps in one process)."""

from __future__ import annotations

from typing import TypeVar, cast

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics import MetricWrapperBase

M = TypeVar("M", bound=MetricWrapperBase)

_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("stitching_http_requests_total", "HTTP requests by route and status",
                                ["route", "status"], registry=self.registry)
        self.latency = Histogram("stitching_http_request_seconds", "HTTP request latency by route", ["route"],
                                 buckets=_LATENCY_BUCKETS, registry=self.registry)
        self.decisions = Counter("stitching_decisions_total", "Stitch decisions", ["decision"], registry=self.registry)
        self.outcomes = Counter("stitching_identifier_outcomes_total", "Identifier outcomes by result and reason",
                                ["result", "reason"], registry=self.registry)
        self.merges = Counter("stitching_merges_total", "Merges made, shadowed, refused or undone", ["result"],
                              registry=self.registry)
        self.context = Counter("stitching_context_answers_total", "Context answers by reason", ["reason"],
                               registry=self.registry)
        self.retries = Counter("stitching_transaction_retries_total", "Units of work restarted after a conflict",
                               registry=self.registry)
        self.idempotent_replays = Counter("stitching_idempotent_replays_total", "Requests answered from a stored response",
                                          registry=self.registry)
        self.store_unavailable = Counter("stitching_store_unavailable_total", "Requests answered 503: database unavailable",
                                         registry=self.registry)
        self.ready = Gauge("stitching_ready", "1 when the database answers and the schema is current", registry=self.registry)
        self.outbox_pending = Gauge("stitching_genesys_outbox_pending", "Genesys mirror operations waiting",
                                    registry=self.registry)
        self.dead_letters = Counter("stitching_genesys_dead_letters_total",
                                    "Genesys mirror operations Genesys refused for good (a 4xx retrying cannot fix)",
                                    ["kind", "status"], registry=self.registry)

        self._children: dict[tuple[int, tuple[str, ...]], MetricWrapperBase] = {}

    def child(self, metric: M, *values: str) -> M:
        """``metric.labels(*values)``: the same child, looked up in prometheus_client once per label set (its
        lookup takes a lock and checks the values on every call, a few microseconds of every request). Label
        values are routes, statuses and the service's fixed reasons: a small, bounded set."""
        key = (id(metric), values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return cast(M, found)

    def render(self) -> bytes:
        return generate_latest(self.registry)
