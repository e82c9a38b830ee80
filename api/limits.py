"""Request limits: refuse oversized bodies before they are read (413 problem+json)."""

from __future__ import annotations

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem


class BodySizeLimit:
    """ASGI middleware: a request body larger than ``max_bytes`` gets a 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            response = problem(
                413,
                "Content Too Large",
                f"the request body has {int(length)} bytes; the limit is {self.max_bytes}",
                scope.get("path"),
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                # A chunked body without a length: FastAPI re-raises an HTTPException met while
                # reading the body (any other error would become a vague 400 "error parsing").
                raise HTTPException(
                    413, f"the request body has more than {self.max_bytes} bytes (the limit)"
                )
            return message

        await self.app(scope, counted, send)
