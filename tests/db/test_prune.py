"""foncier history prune: versions replaced before the date go, later ones and as_of stay."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb
from typer.testing import CliRunner

from api.app import create_app
from api.routes.scenarios import _VINTAGES
from cli import app
from config import DatabaseSettings, get_database_settings
from db.engine import connect_raw
from db.prune import PruneError, check_date, prune_history
from ingest.undo import UndoRefusedError, undo_run
from score.run import score
from tests.api.conftest import API_SETTINGS
from tests.ingest.test_as_of import RIVES, SCOT, SCOTS, _halved
from tests.ingest.test_undo import JUVISY, ROWS_HASH, _changed_copy

# The first reload is made to look two and a half years old, the pruning date two years.
OLD = datetime.now(UTC) - timedelta(days=900)
BEFORE = datetime.now(UTC) - timedelta(days=730)
BETWEEN = datetime.now(UTC) - timedelta(days=400)  # after BEFORE, before the last reload


@pytest.fixture
def client(db_settings: DatabaseSettings) -> Iterator[TestClient]:
    with TestClient(create_app(API_SETTINGS, db_settings), raise_server_exceptions=False) as c:
        yield c


def _run(db: DatabaseSettings, query: str, *params: object) -> list[tuple[object, ...]]:
    with psycopg.connect(db.psycopg_dsn) as conn:
        cur = conn.execute(query, params)  # type: ignore[arg-type]
        return cur.fetchall() if cur.description else []


def _third_copy(tmp_path: Path) -> Path:
    """Juvisy a year after the changed copy: 30 more parcels re-measured."""
    data = json.loads(gzip.decompress(_changed_copy(tmp_path).read_bytes()))
    for feature in data["features"][100:130]:
        feature["properties"]["contenance"] = (feature["properties"]["contenance"] or 0) + 3
    out = tmp_path / "third" / "cadastre-91326-parcelles.json.gz"
    out.parent.mkdir()
    out.write_bytes(gzip.compress(json.dumps(data).encode()))
    return out


def _years_of_parcels(load, db: DatabaseSettings, tmp_path: Path) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """Three loads of Juvisy; the first two dated 900 days ago (runs and the history the
    second kept), the third today. Returns the three run ids."""
    first = load("parcels", JUVISY).run_id
    second = load("parcels", _changed_copy(tmp_path)).run_id
    _run(db, "UPDATE ingest_run SET started_at = %s WHERE id IN (%s, %s)", OLD, first, second)
    _run(db, "UPDATE history.parcel SET hist_at = %s WHERE hist_run_id = %s", OLD, second)
    third = load("parcels", _third_copy(tmp_path)).run_id
    return first, second, third


def _items(client: TestClient, **params: str) -> dict[str, int]:
    r = client.get(
        "/collections/parcels/items",
        params={"insee": "91326", "limit": "5000", "sortby": "idu", **params},
    )
    assert r.status_code == 200, r.text
    return {f["id"]: f["properties"]["contenance_m2"] for f in r.json()["features"]}


def _remeasured(client: TestClient, tmp_path: Path) -> list[dict[str, int]]:
    """The area of the parcels the last reload re-measured, now and as of :data:`BETWEEN`."""
    data = json.loads(gzip.decompress((tmp_path / "third" / JUVISY.name).read_bytes()))
    out = []
    for feature in data["features"][100:130]:
        url = f"/collections/parcels/items/{feature['id']}"
        now = client.get(url)
        then = client.get(url, params={"as_of": BETWEEN.isoformat()})
        assert now.status_code == then.status_code == 200, then.text
        area = "contenance_m2"
        out.append(
            {"now": now.json()["properties"][area], "as_of": then.json()["properties"][area]}
        )
    return out


def test_prune_removes_the_versions_before_the_date_and_keeps_the_later(
    load, db_settings, tmp_path, client
) -> None:  # type: ignore[no-untyped-def]
    _, second, third = _years_of_parcels(load, db_settings, tmp_path)
    counts = "SELECT hist_run_id, count(*) FROM history.parcel GROUP BY 1 ORDER BY 1"
    assert _run(db_settings, counts) == [(second, 70), (third, 30)]
    then = _items(client, as_of=BETWEEN.isoformat())
    assert len(then) == 500  # a page (the API's limit), ids in order
    remeasured = _remeasured(client, tmp_path)
    assert {p["as_of"] + 3 for p in remeasured} == {p["now"] for p in remeasured}
    dry = prune_history(db_settings, BEFORE, dry_run=True)
    assert dry.tables["parcel"] == 70 and dry.total == 70 and dry.audit_id is None
    assert _run(db_settings, counts) == [(second, 70), (third, 30)]  # a dry run deletes nothing

    report = prune_history(db_settings, BEFORE)
    assert report.tables["parcel"] == 70 and report.total == 70
    assert _run(db_settings, counts) == [(third, 30)]
    # as_of after the date answers as it did before the prune.
    assert _items(client, as_of=BETWEEN.isoformat()) == then
    assert _remeasured(client, tmp_path) == remeasured
    assert _run(db_settings, "SELECT action, changes FROM audit WHERE id = %s", report.audit_id)[
        0
    ] == ("history.prune", {"before": BEFORE.isoformat(), "tables": report.tables})


def test_undo_of_a_pruned_run_is_refused_and_a_later_one_still_works(
    load, db_settings, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    _, second, third = _years_of_parcels(load, db_settings, tmp_path)
    prune_history(db_settings, BEFORE)
    before = _run(db_settings, ROWS_HASH)
    with pytest.raises(UndoRefusedError) as err:
        undo_run(db_settings, second)
    message = str(err.value)
    assert f"run {second} cannot be undone: its history was pruned" in message
    assert f"--before {BEFORE:%Y-%m-%d}" in message and "nothing was changed" in message
    assert _run(db_settings, ROWS_HASH) == before
    # The last reload replaced versions after the date: its undo restores them.
    assert undo_run(db_settings, third).tables["parcel"] == (30, 30)


def test_a_table_prune_only_touches_that_table(load, db_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    _years_of_parcels(load, db_settings, tmp_path)
    report = prune_history(db_settings, BEFORE, tables=["commune"])
    assert report.tables == {"commune": 0}
    assert _run(db_settings, "SELECT count(*) FROM history.parcel") == [(100,)]
    with pytest.raises(PruneError, match="--table parcels: no history is kept for it"):
        prune_history(db_settings, BEFORE, tables=["parcels"])


def test_a_date_within_the_last_year_needs_force() -> None:
    now = datetime(2026, 12, 2, tzinfo=UTC)
    with pytest.raises(PruneError, match="within the last year.*--force"):
        check_date(datetime(2026, 3, 1, tzinfo=UTC), force=False, now=now)
    warning = check_date(datetime(2026, 3, 1, tzinfo=UTC), force=True, now=now)
    assert warning is not None and "triennial" in warning
    assert "triennial" in str(check_date(datetime(2024, 6, 1, tzinfo=UTC), False, now))
    assert check_date(datetime(2023, 1, 1, tzinfo=UTC), force=False, now=now) is None
    with pytest.raises(PruneError, match="in the future"):
        check_date(datetime(2027, 1, 1, tzinfo=UTC), force=True, now=now)


def test_the_cli_prunes_and_refuses(load, db_settings, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    _years_of_parcels(load, db_settings, tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_settings.database_url)
    get_database_settings.cache_clear()
    recent = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%d")
    old = BEFORE.strftime("%Y-%m-%d")
    try:
        refused = CliRunner().invoke(app, ["history", "prune", "--before", recent])
        bad = CliRunner().invoke(app, ["history", "prune", "--before", "02/12/2024"])
        dry = CliRunner().invoke(app, ["history", "prune", "--before", old, "--dry-run"])
        done = CliRunner().invoke(app, ["history", "prune", "--before", old, "--table", "parcel"])
    finally:
        get_database_settings.cache_clear()
    assert refused.exit_code == 2 and "within the last year" in refused.output, refused.output
    assert bad.exit_code == 2 and "not a date" in bad.output, bad.output
    assert dry.exit_code == 0 and "parcel: would delete 70 version(s)" in dry.output, dry.output
    assert done.exit_code == 0 and "parcel: deleted 70 version(s)" in done.output, done.output
    assert _run(db_settings, "SELECT count(*) FROM history.parcel") == [(30,)]


def test_the_account_a_saved_scenario_was_computed_on_is_kept(load, db_settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load("scots", SCOTS)
    load("enaf", RIVES, vintage="Cerema 2024")
    with connect_raw(db_settings) as conn:
        score(conn)
    # A scenario saved on the first account, as the API saves it (its vintages query).
    key = {"kind": "scot", "code": SCOT}
    with psycopg.connect(db_settings.psycopg_dsn) as conn:
        vintages = conn.execute(_VINTAGES, key).fetchone()[0]  # type: ignore[index]
        conn.execute(
            "INSERT INTO zan_scenario (link_id, territory_type, territory_code, name, body, "
            "answer, vintages) VALUES ('l1', 'scot', %s, 'zone A', '{}', '{}', %s)",
            (SCOT, Jsonb(vintages)),
        )
    load("enaf", _halved(tmp_path), vintage="Cerema 2024 corrigé")
    with connect_raw(db_settings) as conn:
        score(conn)  # the first accounts go to history.zan_account
    _run(db_settings, "UPDATE history.zan_account SET hist_at = %s", OLD)
    replaced = _run(db_settings, "SELECT count(*) FROM history.zan_account")[0][0]
    assert isinstance(replaced, int) and replaced > 1

    report = prune_history(db_settings, BEFORE, tables=["zan_account"])
    assert report.tables["zan_account"] == replaced - 1 and report.kept_for_scenarios == 1
    kept = _run(
        db_settings, "SELECT territory_type, territory_code, computed_at FROM history.zan_account"
    )
    computed_at = datetime.fromisoformat(vintages["zan_account"]["computed_at"])
    assert kept == [("scot", SCOT, computed_at)]
