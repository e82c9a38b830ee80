"""Availability freshness: stale sites, signed one-click links, reminder e-mails, confirmations.

A site's availability holds until its ``valid_until`` (its last confirmation plus
``FONCIER_API_SITE_VALIDITY_DAYS``, 183 by default); a site never confirmed, or past that date,
is "à confirmer" and ranks below confirmed sites. ``foncier sites remind`` e-mails each stale
site's contact two links, signed with HMAC-SHA256 and expiring: one confirms the availability,
one withdraws the site. A link opens a page with one button (a POST): mail scanners that fetch
every link of a message must not confirm a site by themselves. Every confirmation or withdrawal
is a row of ``audit`` (actor ``lien signé``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import smtplib
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import psycopg

from config import ApiSettings, MailSettings
from db.errors import AccessDenied

ACTIONS = ("confirm", "withdraw")
LINK_ACTOR = "lien signé"
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
STALE = "s.withdrawn_at IS NULL AND (s.valid_until IS NULL OR s.valid_until < now())"
_STALE_SQL = (
    "SELECT s.id, s.nom, s.insee, s.lib_com, s.contact, s.confirmed_at, s.valid_until "
    f"FROM site s WHERE {STALE} "
    "AND (CAST(%(kind)s AS text) IS NULL OR s.insee IN (SELECT tc.insee FROM territory_commune "
    "tc WHERE tc.kind = %(kind)s AND tc.code = %(code)s)) ORDER BY s.valid_until NULLS FIRST, s.id"
)


def _secret(settings: ApiSettings) -> bytes:
    if settings.link_secret:
        return settings.link_secret.encode()
    if not settings.key_salt:
        raise ValueError("no link secret: set FONCIER_API_LINK_SECRET (or the key salt)")
    # Derived, so the key salt itself never signs anything a user sees.
    return hmac.new(settings.key_salt.encode(), b"foncier site links", hashlib.sha256).digest()


def sign(settings: ApiSettings, site_id: str, action: str, now: float | None = None) -> str:
    """A token allowing ``action`` on ``site_id`` until ``confirmation_link_days`` from now."""
    expires = int((now or time.time()) + settings.confirmation_link_days * 86_400)
    payload = f"{action}|{expires}|{site_id}".encode()
    mac = hmac.new(_secret(settings), payload, hashlib.sha256).digest()[:20]
    return f"{base64.urlsafe_b64encode(payload).decode().rstrip('=')}.{mac.hex()}"


def verify(settings: ApiSettings, token: str) -> tuple[str, str]:
    """(site id, action) of a valid token; AccessDenied (French) if forged or expired."""
    encoded, _, mac = token.partition(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        action, expires, site_id = payload.decode().split("|", 2)
        good = hmac.new(_secret(settings), payload, hashlib.sha256).digest()[:20]
        valid = hmac.compare_digest(good.hex(), mac) and action in ACTIONS
    except (ValueError, UnicodeDecodeError):
        valid = False
    if not valid:
        raise AccessDenied("ce lien n'est pas valide (incomplet ou modifié)")
    if int(expires) < time.time():
        raise AccessDenied("ce lien a expiré : demandez un nouveau courriel de confirmation")
    return site_id, action


@dataclass(frozen=True)
class StaleSite:
    """A site whose availability is to be confirmed."""

    id: str
    nom: str
    insee: str | None
    commune: str | None
    contact: str | None
    confirmed_at: Any
    valid_until: Any

    @property
    def email(self) -> str | None:
        """The first e-mail address in the site's contact, if any."""
        found = EMAIL.search(self.contact or "")
        return found.group(0) if found else None


def list_stale(conn: psycopg.Connection, territory: str | None = None) -> list[StaleSite]:
    """Stale sites, never confirmed first; ``territory`` is ``kind:code`` (territory_commune)."""
    kind, code = territory.split(":", 1) if territory else (None, None)
    rows = conn.execute(_STALE_SQL, {"kind": kind, "code": code}).fetchall()
    return [StaleSite(*row) for row in rows]


def reminder(site: StaleSite, settings: ApiSettings, mail: MailSettings, base: str) -> EmailMessage:
    """The French e-mail asking ``site``'s contact to confirm or withdraw it."""
    links = {a: f"{base}/disponibilite/{sign(settings, site.id, a)}" for a in ACTIONS}
    where = f" ({site.commune})" if site.commune else ""
    msg = EmailMessage()
    msg["From"], msg["To"] = mail.sender, site.email or ""
    msg["Subject"] = f"Le site « {site.nom} » est-il toujours disponible ?"
    msg.set_content(
        f"Bonjour,\n\nLe site « {site.nom} »{where} est publié comme disponible sur foncier. "
        "Sans confirmation, il apparaît « à confirmer » et passe après les sites confirmés.\n\n"
        f"Il est toujours disponible : {links['confirm']}\n\n"
        f"Il n'est plus disponible (le retirer) : {links['withdraw']}\n\n"
        f"Chaque lien ouvre une page avec un seul bouton ; il expire dans "
        f"{settings.confirmation_link_days} jours.\n"
    )
    return msg


def send_reminders(
    sites: list[StaleSite], settings: ApiSettings, mail: MailSettings, base: str
) -> list[str]:
    """E-mail every site that has a contact address, in one SMTP session; the ids sent to."""
    sendable = [s for s in sites if s.email]
    if not sendable:
        return []
    with smtplib.SMTP(mail.host, mail.port, timeout=mail.timeout_s) as smtp:
        if mail.starttls:
            smtp.starttls()
        if mail.user:
            smtp.login(mail.user, mail.password or "")
        for site in sendable:
            smtp.send_message(reminder(site, settings, mail, base))
    return [s.id for s in sendable]


# confirm: valid from now for the validity; withdraw: marked withdrawn (still listed, labelled).
_ACTION_SQL = {
    "confirm": (
        "UPDATE site SET confirmed_at = now(), withdrawn_at = NULL, "
        "valid_until = now() + make_interval(days => %(days)s) WHERE id = %(id)s "
        "RETURNING confirmed_at, valid_until, withdrawn_at"
    ),
    "withdraw": (
        "UPDATE site SET withdrawn_at = now() WHERE id = %(id)s "
        "RETURNING confirmed_at, valid_until, withdrawn_at"
    ),
}


def action_params(site_id: str, settings: ApiSettings) -> dict[str, Any]:
    """The binds of :data:`_ACTION_SQL`."""
    return {"id": site_id, "days": settings.site_validity_days}


def action_sql(action: str) -> str:
    """The statement of ``action`` (confirm or withdraw)."""
    return _ACTION_SQL[action]
