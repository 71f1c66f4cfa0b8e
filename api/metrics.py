"""Prometheus metrics of one app (own registry, so several apps in one process never clash).

Labels are route templates (`/v1/applications/{application_id}`), never raw paths or bodies.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    """Counters and histograms of requests, matching and jobs."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "peyvand_http_requests_total",
            "HTTP requests by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "peyvand_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["route"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "peyvand_http_requests_in_flight",
            "HTTP requests being served.",
            registry=self.registry,
        )
        self.recommend_latency = Histogram(
            "peyvand_recommend_duration_seconds",
            "Time of one Recommender.recommend call (matching or suggestions).",
            ["source"],
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.jobs_finished = Counter(
            "peyvand_jobs_finished_total",
            "Background jobs that ended, by kind and final status.",
            ["kind", "status"],
            registry=self.registry,
        )
        self.rate_limited = Counter(
            "peyvand_rate_limited_total",
            "Requests refused by the rate limiter, by rule.",
            ["rule"],
            registry=self.registry,
        )
        self.recommender_ready = Gauge(
            "peyvand_recommender_ready",
            "1 when the model and index are loaded.",
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
