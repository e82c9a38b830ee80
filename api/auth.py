"""API keys: stored as salted HMAC-SHA256 hashes, scoped to an EPCI, a region or the nation.

Reading needs no key; a key (header ``X-API-Key``) shows the restricted fields and allows writes
inside its scope.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

import psycopg
from fastapi import Depends, Header, Request

from config import ApiSettings
from db.errors import AccessDenied

ROLES = ("editor", "admin")
SCOPES = ("epci", "region", "national")


def hash_key(key: str, salt: str) -> str:
    """The stored form of ``key`` (the key itself is shown once and never stored)."""
    return hmac.new(salt.encode(), key.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Reader:
    """Who calls: an API key's identity, role and scope."""

    key_id: int
    name: str
    role: str
    scope_type: str
    scope_code: str


def create_key(
    conn: psycopg.Connection, settings: ApiSettings, name: str, role: str, scope: str
) -> tuple[int, str]:
    """Insert a new key and return (id, plaintext key).

    Args:
        scope: ``epci:SIREN``, ``region:CODE`` or ``national``.
    """
    if role not in ROLES:
        raise AccessDenied(f"role {role!r}: expected one of {', '.join(ROLES)}", 400)
    scope_type, _, scope_code = scope.partition(":")
    if scope_type not in SCOPES or (scope_type != "national" and not scope_code):
        raise AccessDenied(f"scope {scope!r}: expected epci:SIREN, region:CODE or national", 400)
    key = "fon_" + secrets.token_urlsafe(32)
    row = conn.execute(
        "INSERT INTO api_key (name, key_hash, role, scope_type, scope_code) "
        "VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (name, hash_key(key, settings.key_salt), role, scope_type, scope_code or "FR"),
    ).fetchone()
    assert row is not None
    return int(row[0]), key


async def get_reader(
    request: Request, x_api_key: Annotated[str | None, Header()] = None
) -> Reader | None:
    """The key's holder, None for anonymous readers; an unknown or revoked key is a 401."""
    if not x_api_key:
        return None
    settings: ApiSettings = request.app.state.settings
    async with request.app.state.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, name, role, scope_type, scope_code FROM api_key "
            "WHERE key_hash = %s AND active",
            (hash_key(x_api_key, settings.key_salt),),
        )
        row = await cur.fetchone()
    if row is None:
        raise AccessDenied("X-API-Key is unknown or revoked; ask an administrator for a key", 401)
    return Reader(*row)


ReaderDep = Annotated[Reader | None, Depends(get_reader)]


def require_key(reader: Reader | None) -> Reader:
    """The reader, or a 401 saying that writing needs a key."""
    if reader is None:
        raise AccessDenied("writing needs an API key in the X-API-Key header", 401)
    return reader


async def check_scope(conn: psycopg.AsyncConnection, reader: Reader, insee: str | None) -> None:
    """Refuse (403) a write on commune ``insee`` outside the key's EPCI or region."""
    if reader.scope_type == "national":
        return
    if insee is None:
        raise AccessDenied("a site without a commune can only be written with a national key")
    cur = await conn.execute("SELECT siren_epci, reg FROM commune WHERE insee = %s", (insee,))
    row = await cur.fetchone()
    if row is None:
        raise AccessDenied(f"commune {insee} is unknown, so it is outside your key's scope")
    code = row[0] if reader.scope_type == "epci" else row[1]
    if code != reader.scope_code:
        raise AccessDenied(
            f"your key is scoped to {reader.scope_type} {reader.scope_code}; commune {insee} "
            f"belongs to {reader.scope_type} {code}"
        )
