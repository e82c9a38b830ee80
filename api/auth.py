"""API keys: stored as salted HMAC-SHA256 hashes, scoped to an EPCI, a region or the nation.

Reading needs no key; a key (header ``X-API-Key``) shows the restricted fields and allows writes
inside its scope.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

import psycopg
from fastapi import Depends, Header, Request

from api.ratelimit import SlidingWindow, too_many
from config import ApiSettings
from db.errors import AccessDenied, NotFound

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
    conn: psycopg.Connection,
    settings: ApiSettings,
    name: str,
    role: str,
    scope: str,
    expires_at: datetime | None = None,
) -> tuple[int, str]:
    """Insert a new key and return (id, plaintext key).

    Args:
        conn: the connection the key is inserted with (the caller commits).
        settings: the API settings; their key salt hashes the stored key.
        name: who or what the key is for, shown by ``foncier apikey list``.
        role: ``editor`` or ``admin``.
        scope: ``epci:SIREN``, ``region:CODE`` or ``national``.
        expires_at: from then on the key is refused (401 "key expired"); None: never.
    """
    if role not in ROLES:
        raise AccessDenied(f"role {role!r}: expected one of {', '.join(ROLES)}", 400)
    scope_type, _, scope_code = scope.partition(":")
    if scope_type not in SCOPES or (scope_type != "national" and not scope_code):
        raise AccessDenied(f"scope {scope!r}: expected epci:SIREN, region:CODE or national", 400)
    key = "fon_" + secrets.token_urlsafe(32)
    row = conn.execute(
        "INSERT INTO api_key (name, key_hash, role, scope_type, scope_code, expires_at) "
        "VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
        (name, _hash(key, settings), role, scope_type, scope_code or "FR", expires_at),
    ).fetchone()
    assert row is not None
    return int(row[0]), key


def _hash(key: str, settings: ApiSettings) -> str:
    if not settings.key_salt:
        raise ValueError("no API-key salt: settings must go through config.resolve_key_salt")
    return hash_key(key, settings.key_salt)


@dataclass(frozen=True)
class KeyInfo:
    """What `foncier apikey list` shows of a key (never the key or its hash)."""

    key_id: int
    name: str
    role: str
    scope: str
    created_at: datetime
    expires_at: datetime | None
    active: bool


def list_keys(conn: psycopg.Connection) -> list[KeyInfo]:
    """Every key, oldest first; ``active`` is false once revoked or expired."""
    rows = conn.execute(
        "SELECT id, name, role, CASE scope_type WHEN 'national' THEN 'national' "
        "ELSE scope_type || ':' || scope_code END, created_at, expires_at, "
        "active AND (expires_at IS NULL OR expires_at > now()) FROM api_key ORDER BY id"
    ).fetchall()
    return [KeyInfo(*row) for row in rows]


def revoke_key(conn: psycopg.Connection, key_id: int) -> bool:
    """Switch key ``key_id`` off; False when there is no such active key."""
    cur = conn.execute(
        "UPDATE api_key SET active = false, revoked_at = now() WHERE id = %s AND active",
        (key_id,),
    )
    return cur.rowcount == 1


def rotate_key(conn: psycopg.Connection, settings: ApiSettings, key_id: int) -> tuple[int, str]:
    """Revoke key ``key_id`` and create its replacement (same name, role, scope and expiry).

    Returns (new id, plaintext key). Raises NotFound when there is no such active key.
    """
    row = conn.execute(
        "SELECT name, role, scope_type, scope_code, expires_at FROM api_key "
        "WHERE id = %s AND active FOR UPDATE",
        (key_id,),
    ).fetchone()
    if row is None:
        raise NotFound(f"no active API key {key_id} (see `foncier apikey list`)")
    name, role, scope_type, scope_code, expires_at = row
    scope = "national" if scope_type == "national" else f"{scope_type}:{scope_code}"
    revoke_key(conn, key_id)
    return create_key(conn, settings, name, role, scope, expires_at)


async def get_reader(
    request: Request, x_api_key: Annotated[str | None, Header()] = None
) -> Reader | None:
    """The key's holder, None for anonymous readers; an unknown, revoked or expired key is a
    401, and a client with too many of those in a minute gets 429s for a while."""
    if not x_api_key:
        return None
    settings: ApiSettings = request.app.state.settings
    failures: SlidingWindow = request.app.state.auth_failures
    ip = request.client.host if request.client else "unknown"
    wait = failures.retry_after(ip)
    if wait:
        raise too_many(
            f"too many failed authentications from this address: retry in {wait} s", wait
        )
    async with request.app.state.pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, name, role, scope_type, scope_code, expires_at <= now() FROM api_key "
            "WHERE key_hash = %s AND active",
            (_hash(x_api_key, settings),),
        )
        row = await cur.fetchone()
    if row is None:
        failures.add(ip)
        raise AccessDenied("X-API-Key is unknown or revoked; ask an administrator for a key", 401)
    if row[5]:
        failures.add(ip)
        raise AccessDenied("key expired: ask an administrator for a new key", 401)
    return Reader(*row[:5])


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


def require_admin(reader: ReaderDep) -> Reader:
    """The reader if its key has the ``admin`` role: 401 without a key, 403 with another role."""
    if reader is None:
        raise AccessDenied("the admin routes need an admin API key in the X-API-Key header", 401)
    if reader.role != "admin":
        raise AccessDenied(
            f"your key has the {reader.role} role; the admin routes need a key of role admin "
            "(foncier apikey create --role admin)"
        )
    return reader


AdminDep = Annotated[Reader, Depends(require_admin)]
