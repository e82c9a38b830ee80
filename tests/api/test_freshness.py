"""Availability freshness: a stale site listed, reminded through a real local SMTP server
(aiosmtpd), confirmed through the e-mail's link, fresh again, and ranked above stale sites.

The test site is created in Morangis (91432, EPCI 200054781) with an e-mail contact; the
fixture sites of tests/fixtures/api_land.sql were never confirmed, so they stay stale.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from fastapi.testclient import TestClient
from pyproj import Transformer
from sqlalchemy import Engine, text
from typer.testing import CliRunner

import config
from api.freshness import sign
from cli import app as cli_app
from config import DatabaseSettings
from tests.api.conftest import API_SETTINGS
from tests.conftest import scalar

SITE = "site-test-fresh"
CONTACT = "Mme Rivière <riviere@example.org>"
TO_CRS84 = Transformer.from_crs(2154, 4326, always_xy=True)


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    # aiosmtpd's hook: its name and arguments are the library's.
    async def handle_DATA(  # noqa: N802
        self,
        server: object,  # noqa: ARG002
        session: Session,  # noqa: ARG002
        envelope: Envelope,
    ) -> str:
        msg = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        self.messages.append(msg)  # type: ignore[arg-type]
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


@pytest.fixture
def site(client: TestClient, keys: dict[str, str], engine: Engine) -> Iterator[str]:
    lon, lat = TO_CRS84.transform(651_150, 6_844_750)  # AB0003
    body = {"id": SITE, "nom": "Parc des Rivières", "insee": "91432", "lon": lon, "lat": lat,
            "contact": CONTACT}  # fmt: skip
    r = client.post("/sites", json=body, headers={"X-API-Key": keys["epci_editor"]})
    assert r.status_code == 201, r.text
    yield SITE
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM site WHERE id = :id"), {"id": SITE})


def run_cli(api_db: DatabaseSettings, *args: str, port: int = 1) -> str:
    env = {
        "DATABASE_URL": api_db.database_url,
        "FONCIER_API_KEY_SALT": API_SETTINGS.key_salt or "",
        "FONCIER_PUBLIC_URL": "http://testserver",
        "FONCIER_SMTP_HOST": "127.0.0.1",
        "FONCIER_SMTP_PORT": str(port),
    }
    for cached in (config.get_database_settings, config.get_api_settings, config.get_mail_settings):
        cached.cache_clear()
    try:
        result = CliRunner().invoke(cli_app, ["sites", *args], env=env)
    finally:
        for cached in (
            config.get_database_settings,
            config.get_api_settings,
            config.get_mail_settings,
        ):
            cached.cache_clear()
    assert result.exit_code == 0, result.output
    return result.output


def site_props(client: TestClient) -> dict[str, object]:
    r = client.get(f"/collections/sites/items/{SITE}?f=json")
    assert r.status_code == 200, r.text
    return r.json()["properties"]  # type: ignore[no-any-return]


@pytest.mark.usefixtures("site")
def test_stale_site_listed_reminded_confirmed_through_the_link_and_fresh_again(
    client: TestClient, api_db: DatabaseSettings, smtp: tuple[Inbox, int], engine: Engine
) -> None:
    inbox, port = smtp
    assert site_props(client)["a_confirmer"] is True
    listed = run_cli(api_db, "stale", "--territory", "epci:200054781")
    assert SITE in listed and "riviere@example.org" in listed and "jamais confirmé" in listed
    assert "Chassenard" not in listed  # region 84, outside the EPCI
    out = run_cli(api_db, "remind", "--territory", "epci:200054781", port=port)
    assert "courriel(s) envoyé(s)" in out
    assert "pas d'adresse e-mail pour site-morangis-1" in out  # a phone number only
    mail = next(m for m in inbox.messages if m["To"] == "riviere@example.org")
    assert "Parc des Rivières" in mail["Subject"]
    body = mail.get_content()
    confirm = re.search(r"toujours disponible : (\S+)", body)
    assert confirm is not None
    # Following the link shows one button and writes nothing; the button confirms.
    page = client.get(confirm.group(1))
    assert page.status_code == 200 and "Parc des Rivières" in page.text
    assert site_props(client)["a_confirmer"] is True
    action = re.search(r'<form method="post" action="([^"]+)"', page.text)
    assert action is not None
    done = client.post(action.group(1))
    assert done.status_code == 200 and "disponibilité du site est confirmée" in done.text
    props = site_props(client)
    assert props["a_confirmer"] is False and props["confirmed_at"]
    assert SITE not in run_cli(api_db, "stale")
    audit = scalar(
        engine,
        "SELECT actor || ' ' || action FROM audit WHERE target = :t ORDER BY id DESC LIMIT 1",
        t=f"site:{SITE}",
    )
    assert audit == "lien signé site.confirm"
    # Confirmed, it ranks above the stale sites of the same search, whatever their scores.
    found = client.get("/search", params={"kind": "sites", "epci": "200054781"}).json()
    assert found["results"][0]["id"] == SITE
    assert all(r["a_confirmer"] for r in found["results"][1:])
    only = client.get("/search", params={"epci": "200054781", "confirmed_only": "true"}).json()
    assert [r["id"] for r in only["results"]] == [SITE]


@pytest.mark.usefixtures("site")
def test_the_withdraw_link_withdraws_and_search_drops_the_site(client: TestClient) -> None:
    token = sign(API_SETTINGS, SITE, "withdraw")
    assert "Oui, le retirer" in client.get(f"/disponibilite/{token}").text
    assert client.post(f"/disponibilite/{token}").status_code == 200
    props = site_props(client)
    assert props["withdrawn"] is True and props["a_confirmer"] is False
    found = client.get("/search", params={"kind": "sites", "epci": "200054781"}).json()
    assert SITE not in [r["id"] for r in found["results"]]
    sheet = client.get(f"/sites/{SITE}/checklist").json()
    assert sheet["freshness"]["status"] == "retiré"


@pytest.mark.usefixtures("site")
def test_forged_and_expired_links_are_refused_and_write_nothing(
    client: TestClient, engine: Engine
) -> None:
    good = sign(API_SETTINGS, SITE, "confirm")
    forged = good[:-1] + ("0" if good[-1] != "0" else "1")
    expired = sign(API_SETTINGS, SITE, "confirm", now=time.time() - 30 * 86_400)
    before = scalar(engine, "SELECT count(*) FROM audit WHERE target = :t", t=f"site:{SITE}")
    for token, words in ((forged, "pas valide"), (expired, "a expiré"), ("x", "pas valide")):
        r = client.post(f"/disponibilite/{token}")
        assert r.status_code == 403 and words in r.text, r.text
    assert scalar(engine, "SELECT count(*) FROM audit WHERE target = :t", t=f"site:{SITE}") == (
        before
    )
    assert site_props(client)["a_confirmer"] is True
