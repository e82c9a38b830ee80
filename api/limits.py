"""Request limits: refuse oversized bodies before they are read (413 problem+json)."""

from __future__ import annotations

import re

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem

# Evidence uploads (api/routes/checklist.py) take files larger than the other bodies.
UPLOAD_PATH = re.compile(r"^/sites/[^/]+/evidence$")


class BodySizeLimit:
    """ASGI middleware: a request body larger than ``max_bytes`` gets a 413."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_max_bytes: int | None = None) -> None:
        self.app, self.max_bytes = app, max_bytes
        self.upload_max_bytes = upload_max_bytes or max_bytes

    def _limit(self, scope: Scope) -> tuple[int, str, str]:
        """The limit of this request and its messages, for a known size and for a chunked body
        (evidence uploads: in French)."""
        if scope.get("method") == "POST" and UPLOAD_PATH.match(scope.get("path") or ""):
            limit = self.upload_max_bytes
            tail = f"une pièce justificative fait au plus {limit} octets (limite du serveur)"
            return (
                limit,
                f"le fichier fait {{n}} octets ; {tail}",
                f"le fichier est trop gros : {tail}",
            )
        limit = self.max_bytes
        return (
            limit,
            f"the request body has {{n}} bytes; the limit is {limit}",
            f"the request body has more than {limit} bytes (the limit)",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes, message, chunked = self._limit(scope)
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > max_bytes:
            response = problem(
                413, "Content Too Large", message.format(n=int(length)), scope.get("path")
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message_ = await receive()
            received += len(message_.get("body", b""))
            if received > max_bytes:
                # A chunked body without a length: FastAPI re-raises an HTTPException met while
                # reading the body (any other error would become a vague 400 "error parsing").
                raise HTTPException(413, chunked)
            return message_

        await self.app(scope, counted, send)
