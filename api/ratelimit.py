"""In-process rate limits, per client IP: failed authentications and the export route.

One process keeps its own counters (no Redis): with N uvicorn workers the effective limits are N
times these. The client IP is the connection's peer; behind a reverse proxy run uvicorn with
``--proxy-headers --forwarded-allow-ips`` set to the proxy so that it is the user's.
"""

from __future__ import annotations

import math
import re
import time
from collections import defaultdict, deque

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from api.errors import problem

WINDOW_S = 60.0
EXPORT_PATH = re.compile(r"^(/ogc)?/collections/[^/]+/export$")


class SlidingWindow:
    """Events per key over the last ``window_s`` seconds."""

    def __init__(self, limit: int, window_s: float = WINDOW_S, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._events: dict[str, deque[float]] = defaultdict(deque)

    def _prune(self, key: str, now: float) -> deque[float]:
        events = self._events[key]
        while events and now - events[0] >= self.window_s:
            events.popleft()
        return events

    def retry_after(self, key: str) -> int:
        """Seconds until ``key`` is under its limit again; 0 when it is now."""
        now = time.monotonic()
        events = self._prune(key, now)
        if len(events) < self.limit:
            if not events:
                del self._events[key]
            return 0
        return max(1, math.ceil(self.window_s - (now - events[-self.limit])))

    def add(self, key: str) -> None:
        """Record one event of ``key``."""
        if len(self._events) >= self.max_keys:  # bounded memory under a spray of addresses
            self._events.clear()
        self._prune(key, time.monotonic()).append(time.monotonic())


def client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def too_many(message: str, retry_after: int) -> HTTPException:
    """A 429 the problem+json handler renders, with its Retry-After."""
    return HTTPException(429, message, headers={"Retry-After": str(retry_after)})


class ExportLimit:
    """Caps the exports of one client IP: ``concurrent`` at once, ``per_minute`` started."""

    def __init__(self, app: ASGIApp, concurrent: int, per_minute: int) -> None:
        self.app = app
        self.concurrent = concurrent
        self.started = SlidingWindow(per_minute)
        self.running: dict[str, int] = defaultdict(int)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not EXPORT_PATH.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        ip = client_ip(scope)
        wait = self.started.retry_after(ip)
        if self.running[ip] >= self.concurrent:
            detail = f"at most {self.concurrent} exports at once per client: wait for one to end"
            wait = max(wait, 5)
        elif wait:
            detail = f"at most {self.started.limit} exports a minute per client"
        else:
            detail = ""
        if detail:
            response = problem(429, "Too Many Requests", detail, scope["path"])
            response.headers["Retry-After"] = str(wait)
            await response(scope, receive, send)
            return
        self.started.add(ip)
        self.running[ip] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.running[ip] -= 1
            if not self.running[ip]:
                del self.running[ip]
