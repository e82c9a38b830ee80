"""Prometheus metrics at ``/metrics``: requests, the pool, and the ingest and scoring runs.

Each application has its own registry (tests build several apps in one process). Requests are
counted by route template (``/collections/{collection_id}/items``, never the raw path: one series
per route, not per parcel) and status. The pool and run gauges are read when Prometheus scrapes:
``pool.get_stats()`` and two grouped counts over ``ingest_run`` and ``score_run`` (small tables).
"""

from __future__ import annotations

import logging

import psycopg
from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
SCRAPE_TIMEOUT_S = 2.0
INGEST_RUNS = """
SELECT layer, status, count(*), extract(epoch FROM max(finished_at))
FROM ingest_run GROUP BY layer, status
"""
SCORE_RUNS = "SELECT count(*), extract(epoch FROM max(started_at)) FROM score_run"


class Metrics:
    """The application's metrics, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "foncier_http_requests", "HTTP requests", ["method", "route", "status"], registry=r
        )
        self.duration = Histogram(
            "foncier_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["method", "route", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=r,
        )
        self.pool_size = Gauge("foncier_db_pool_size", "Connections in the pool", registry=r)
        self.pool_available = Gauge(
            "foncier_db_pool_available", "Idle connections in the pool", registry=r
        )
        self.pool_waiting = Gauge(
            "foncier_db_pool_requests_waiting", "Requests waiting for a connection", registry=r
        )
        self.database_up = Gauge(
            "foncier_database_up", "1 when the last scrape could query the database", registry=r
        )
        self.ingest_runs = Gauge(
            "foncier_ingest_runs", "Ingest runs recorded, by layer and status",
            ["layer", "status"], registry=r,
        )  # fmt: skip
        self.ingest_last = Gauge(
            "foncier_ingest_last_finished_timestamp_seconds",
            "When the last ingest run of a layer and status finished",
            ["layer", "status"],
            registry=r,
        )
        self.score_runs = Gauge("foncier_score_runs", "Scoring runs recorded", registry=r)
        self.score_last = Gauge(
            "foncier_score_last_started_timestamp_seconds",
            "When the last scoring run started",
            registry=r,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        labels = (method, route, str(status))
        self.requests.labels(*labels).inc()
        self.duration.labels(*labels).observe(seconds)

    async def scrape(self, pool) -> None:  # type: ignore[no-untyped-def]
        """Read the pool's statistics and the run tables into the gauges."""
        stats = pool.get_stats()
        self.pool_size.set(stats.get("pool_size", 0))
        self.pool_available.set(stats.get("pool_available", 0))
        self.pool_waiting.set(stats.get("requests_waiting", 0))
        try:
            async with pool.connection(timeout=SCRAPE_TIMEOUT_S) as conn:
                ingest = await (await conn.execute(INGEST_RUNS)).fetchall()
                score = await (await conn.execute(SCORE_RUNS)).fetchone()
        except psycopg.Error as exc:  # down or not migrated: the request metrics still serve
            log.warning("metrics: run tables not read: %s", exc)
            self.database_up.set(0)
            return
        self.database_up.set(1)
        self.ingest_runs.clear()
        self.ingest_last.clear()
        for layer, status, count, last in ingest:
            self.ingest_runs.labels(layer, status).set(count)
            if last is not None:
                self.ingest_last.labels(layer, status).set(float(last))
        assert score is not None
        self.score_runs.set(score[0])
        if score[1] is not None:
            self.score_last.set(float(score[1]))


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    """The Prometheus text exposition of this process's metrics."""
    m: Metrics = request.app.state.metrics
    await m.scrape(request.app.state.pool)
    return Response(generate_latest(m.registry), media_type=CONTENT_TYPE_LATEST)
