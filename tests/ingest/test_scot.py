"""Commune -> SCoT membership (`scots`): the real sample, the Cerema file, refused rows, scope."""

from __future__ import annotations

import csv

import pytest
from typer.testing import CliRunner

from cli import app
from ingest.errors import LayoutError
from ingest.layers.scot import scot_slug
from ingest.sources import SAMPLES as SAMPLE_FILES
from tests.conftest import SAMPLES, scalar

MEMBRES = SAMPLES / "zan" / "scot_membres_rives_du_rhone.csv"
ENAF = SAMPLES / "zan" / "conso_enaf_2009_2024_scot_rives_du_rhone.csv"
RIVES = "scot-des-rives-du-rhone"
# Counted by hand in the Cerema file: `tail -n +2 conso_enaf_..._rives_du_rhone.csv | cut -d, -f1
# | sort -u | wc -l` = 152 distinct idcom on 152 data lines, every `scot` cell "SCoT des Rives du
# Rhône"; 45 in the Ardèche (07), 26 Drôme, 55 Isère, 14 Loire, 12 Rhône (45+26+55+14+12 = 152).
RIVES_COMMUNES = 152


def _members(engine, scot_id: str = RIVES) -> set[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        result = conn.exec_driver_sql(
            "SELECT insee FROM territory_commune WHERE kind = 'scot' AND code = %(code)s",
            {"code": scot_id},
        )
        return {r[0] for r in result}


def _rows(engine) -> list[tuple[str, str, str | None]]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        result = conn.exec_driver_sql(
            "SELECT scot_id, insee, nom_scot FROM scot_membre ORDER BY scot_id, insee"
        )
        return [tuple(r) for r in result]  # type: ignore[misc]


def _version(engine) -> object:  # type: ignore[no-untyped-def]
    return scalar(engine, "SELECT version FROM layer_version WHERE layer = 'scots'")


def _changes(report) -> int:  # type: ignore[no-untyped-def]
    return sum(t.inserted + t.updated + t.deleted for t in report.tables)


def test_slug_of_the_sample_name() -> None:
    assert scot_slug("SCoT des Rives du Rhône") == RIVES


def test_sample_gives_the_communes_of_the_scot(load, clean_db) -> None:  # type: ignore[no-untyped-def]
    report = load("scots", MEMBRES, vintage="Cerema 2024")
    assert (report.loaded, report.quarantined) == (RIVES_COMMUNES, 0)
    with ENAF.open(encoding="utf-8") as fh:
        idcom = {r["idcom"] for r in csv.DictReader(fh)}
    members = _members(clean_db)
    assert len(members) == RIVES_COMMUNES and members == idcom
    assert {"07009", "07010", "69235"} <= members  # Andance, Annonay, Saint-Romain-en-Gal
    names = scalar(clean_db, "SELECT string_agg(DISTINCT nom_scot, '|') FROM scot_membre")
    assert names == "SCoT des Rives du Rhône"
    run = "SELECT status || ' ' || vintage || ' ' || length(sha256) FROM ingest_run"
    assert scalar(clean_db, run) == "succeeded Cerema 2024 64"


def test_a_rerun_changes_nothing_and_bumps_no_version(load, clean_db) -> None:  # type: ignore[no-untyped-def]
    load("scots", MEMBRES)
    before = (_rows(clean_db), _version(clean_db))
    assert before[1] == 1
    again = load("scots", MEMBRES)
    assert _changes(again) == 0 and again.loaded == RIVES_COMMUNES
    assert (_rows(clean_db), _version(clean_db)) == before
    assert scalar(clean_db, "SELECT count(*) FROM ingest_run WHERE status = 'succeeded'") == 2


def test_the_cerema_enaf_file_gives_the_same_rows_as_the_sample(load, clean_db) -> None:  # type: ignore[no-untyped-def]
    report = load("scots", ENAF, vintage="Cerema 2024")
    assert (report.loaded, report.quarantined) == (RIVES_COMMUNES, 0)
    from_enaf = _rows(clean_db)
    # The derived sample, loaded over it, is a no-op: the very same rows.
    again = load("scots", MEMBRES, vintage="Cerema 2024")
    assert _changes(again) == 0 and _version(clean_db) == 1
    assert _rows(clean_db) == from_enaf
    # And loaded alone, it gives them too.
    with clean_db.begin() as conn:
        conn.exec_driver_sql("TRUNCATE scot_membre")
    load("scots", MEMBRES, vintage="Cerema 2024")
    assert _rows(clean_db) == from_enaf
    assert from_enaf[0] == (RIVES, "07009", "SCoT des Rives du Rhône")


def test_bad_rows_are_quarantined_and_the_others_load(load, clean_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "scots.csv"
    path.write_text(
        "scot_id;nom_scot;insee\n"
        "10394;SCoT A;7009\n"  # 0: a spreadsheet dropped the leading zero: 07009
        "10394;SCoT A;2A004\n"  # 1
        "10394;SCoT A;\n"  # 2: missing INSEE
        "10394;SCoT A;7A009\n"  # 3: malformed
        "10394;SCoT A;00123\n"  # 4: no département 00
        "10394;SCoT A;2A004\n"  # 5: listed twice in one SCoT
        "3919;SCoT B;07009\n"  # 6: a second SCoT for 07009
        ";SCoT C;38001\n"  # 7: the file has ids, this row has none
        "3919;SCoT B;38544\n",  # 8
        encoding="utf-8",
    )
    report = load("scots", path)
    assert (report.loaded, report.quarantined) == (3, 6)
    assert _rows(clean_db) == [
        ("10394", "07009", "SCoT A"),
        ("10394", "2A004", "SCoT A"),
        ("3919", "38544", "SCoT B"),
    ]
    with clean_db.connect() as conn:
        refused = conn.exec_driver_sql(
            "SELECT feature_index, reason, source, layer, raw ->> 'insee' FROM quarantine"
            " ORDER BY feature_index"
        ).all()
    assert [(r[0], r[1]) for r in refused] == [
        (2, "missing INSEE code"),
        (3, "malformed INSEE code '7A009'"),
        (4, "malformed INSEE code '00123'"),
        (5, "duplicate key 10394/2A004: already at feature 1"),
        (
            6,
            "commune 07009 in a second SCoT 3919: already in SCoT 10394 at feature 0"
            " (a commune belongs to one SCoT only)",
        ),
        (7, "missing SCoT id (scot_id)"),
    ]
    assert {(r[2], r[3]) for r in refused} == {(str(path), "scots")}
    assert refused[1][4] == "7A009"  # the raw record, as the file wrote it


def test_a_commune_of_another_files_scot_is_refused(load, clean_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load("scots", MEMBRES)
    other = tmp_path / "scot_autre.csv"
    other.write_text(
        "id_scot,nom_scot,insee_com\n10394,SCoT Autre,07010\n10394,SCoT Autre,01001\n",
        encoding="utf-8",
    )
    report = load("scots", other)
    assert (report.loaded, report.quarantined) == (1, 1)
    assert scalar(clean_db, "SELECT reason FROM quarantine") == (
        f"commune 07010 is already in SCoT {RIVES}, which this file does not name: a commune"
        " belongs to one SCoT only (reload that SCoT without it, or remove it, first)"
    )
    assert "07010" in _members(clean_db) and len(_members(clean_db)) == RIVES_COMMUNES
    assert _members(clean_db, "10394") == {"01001"}


def test_a_file_replaces_the_scots_it_names_only(load, clean_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load("scots", MEMBRES)
    first = tmp_path / "a.csv"
    first.write_text("scot_id,nom_scot,insee\n1,A,01001\n1,A,01002\n", encoding="utf-8")
    load("scots", first)
    # SCoT 1 loses 01002, which moves to SCoT 2 in the same file: allowed, the file names both.
    second = tmp_path / "b.csv"
    second.write_text("scot_id,nom_scot,insee\n1,A,01001\n2,B,01002\n", encoding="utf-8")
    report = load("scots", second)
    assert report.quarantined == 0 and sum(t.deleted for t in report.tables) == 1
    assert _members(clean_db, "1") == {"01001"} and _members(clean_db, "2") == {"01002"}
    assert len(_members(clean_db)) == RIVES_COMMUNES  # the Rives du Rhône, not named, untouched


def test_a_file_without_scot_columns_is_refused(load, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "communes.csv"
    path.write_text("insee,nom\n01001,L'Abergement-Clémenciat\n", encoding="utf-8")
    with pytest.raises(LayoutError, match="no SCoT column"):
        load("scots", path)


def test_a_scot_target_reaches_every_commune_of_the_scot(load, clean_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    load("scots", MEMBRES)
    targets = tmp_path / "targets.csv"
    targets.write_text(
        f"territory_type,territory_code,reduction_pct\nSCOT,{RIVES},60\n", encoding="utf-8"
    )
    load("zan_targets", targets)
    # The join the ZAN accounts make (score's zan_accounts.sql): commune -> SCoT -> target.
    reached = (
        "SELECT count(DISTINCT sm.insee) FROM scot_membre sm JOIN zan_target t"
        " ON t.territory_type = 'scot' AND t.territory_code = sm.scot_id"
    )
    assert scalar(clean_db, reached) == RIVES_COMMUNES


def test_ingest_help_lists_the_layer_and_samples_load_it() -> None:
    result = CliRunner().invoke(app, ["ingest", "--help"])
    assert result.exit_code == 0 and "scots" in result.output
    (sample,) = [s for s in SAMPLE_FILES if s.layer == "scots"]
    assert (SAMPLES / sample.path) == MEMBRES and MEMBRES.is_file()


def test_a_geojson_attribute_table_gives_text_codes(load, clean_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "scots.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": null,'
        ' "properties": {"id_scot": 10394, "nom_scot": "SCoT X", "insee_com": 7009}}]}',
        encoding="utf-8",
    )
    report = load("scots", path)
    assert report.quarantined == 0
    assert _rows(clean_db) == [("10394", "07009", "SCoT X")]
