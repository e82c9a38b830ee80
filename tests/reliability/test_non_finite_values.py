"""Infinity and NaN in a file's properties (not its coordinates), through the real pipeline.

GDAL reads GeoJSON's ``Infinity``/``-Infinity``/``NaN`` tokens as floats, and a CSV's ``inf``
text parses as one. Before: Infinity in a number column was loaded as Infinity, NaN loaded as
null; in a site's extra attribute (jsonb) or in a quarantined row's raw record (jsonb) either
failed the whole file, as JSON has no such numbers. Now the row is quarantined with its reason
while the others load, and jsonb keeps the file's token as text (``"Infinity"``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy import text as sql_text

from config import DatabaseSettings
from tests.reliability.conftest import load_fixture_data
from tests.reliability.test_corrupt_files import (  # noqa: F401 - the fixtures are used by name
    INSEE,
    etalab,
    ingest,
    parcel,
    parcels_v1,
    raw_records,
    site,
    sites_v1,
)

INF, NAN = float("inf"), float("nan")  # json.dumps writes the tokens GDAL reads


@pytest.fixture(scope="module", autouse=True)
def restore(rel_db: DatabaseSettings, engine: Engine) -> Iterator[None]:
    yield
    # Sites loads replace the whole site table: give the other modules their fixture back.
    load_fixture_data(rel_db, engine)


def reasons(engine: Engine, run_id: int) -> dict[str, tuple[int, str]]:
    """Quarantine rows of a run by key: (feature index, reason)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sql_text("SELECT key, feature_index, reason FROM quarantine WHERE run_id = :r"),
            {"r": run_id},
        ).all()
    return {key: (index, reason) for key, index, reason in rows}


def rows(engine: Engine, query: str, **params: object) -> dict[object, object]:
    with engine.connect() as conn:
        return dict(conn.execute(sql_text(query), params).all())  # type: ignore[arg-type]


def test_sites_geojson_infinity_and_nan_properties(
    engine: Engine, rel_db: DatabaseSettings, tmp_path: Path
) -> None:
    """In surface_ha: the row is quarantined. In an extra attribute: kept as jsonb text."""
    props: dict[int, dict[str, object]] = {
        0: {"surface_ha": 3.5, "note": 1.5},
        1: {"surface_ha": INF},
        2: {"surface_ha": -INF},
        3: {"surface_ha": NAN},
        4: {"surface_ha": None},  # null: no surface, loaded
        5: {"surface_ha": 2.0, "note": INF},
        6: {"note": -INF},
        7: {"note": NAN},
        8: {"surface_ha": INF, "note": NAN},  # the raw record keeps both
        # GeoJSON lists and objects: a list failed the file ("truth value of an array...").
        9: {"tags": ["a", "b"], "nums": [1.5, INF], "obj": {"k": -INF}},
        10: {"surface_ha": INF, "nums": [NAN, 2.0], "obj": {"k": INF}},
    }
    features = []
    for i, extra in props.items():
        feature = site(i, {"type": "Point", "coordinates": [4.85, 45.75]})
        feature["properties"].update(extra)  # type: ignore[union-attr]
        features.append(feature)
    path = etalab(tmp_path / "sites.geojson", features)
    report = ingest(rel_db, "sites", path)
    assert (report.rows_read, report.loaded, report.quarantined) == (11, 6, 5)
    assert reasons(engine, report.run_id) == {
        "ZAE-1": (1, "wrong type: surface_ha = Infinity is not a finite number"),
        "ZAE-2": (2, "wrong type: surface_ha = -Infinity is not a finite number"),
        "ZAE-3": (3, "wrong type: surface_ha = 'NaN' is not a finite number"),
        "ZAE-8": (8, "wrong type: surface_ha = Infinity is not a finite number"),
        "ZAE-10": (10, "wrong type: surface_ha = Infinity is not a finite number"),
    }
    # Nothing lost: the raw record has the file's tokens, as text (JSON has no such numbers).
    raw = raw_records(engine, report.run_id)
    assert {k: r["surface_ha"] for k, r in raw.items()} == {
        "ZAE-1": "Infinity",
        "ZAE-2": "-Infinity",
        "ZAE-3": "NaN",
        "ZAE-8": "Infinity",
        "ZAE-10": "Infinity",
    }
    assert raw["ZAE-8"]["note"] == "NaN"
    assert (raw["ZAE-10"]["nums"], raw["ZAE-10"]["obj"]) == (["NaN", 2.0], {"k": "Infinity"})
    assert raw["ZAE-1"]["site_nom"] == "Zone 1"
    with engine.connect() as conn:
        loaded = conn.execute(
            sql_text("SELECT id, surface_ha, attributes FROM site WHERE id LIKE 'ZAE-%'")
        ).all()
    assert {k: (surface, attributes) for k, surface, attributes in loaded} == {
        "ZAE-0": (3.5, {"note": 1.5}),
        "ZAE-4": (None, None),
        "ZAE-5": (2.0, {"note": "Infinity"}),
        "ZAE-6": (None, {"note": "-Infinity"}),
        "ZAE-7": (None, {"note": "NaN"}),
        "ZAE-9": (
            None,
            {"tags": ["a", "b"], "nums": [1.5, "Infinity"], "obj": {"k": "-Infinity"}},
        ),
    }


@pytest.mark.usefixtures("sites_v1")
def test_sites_csv_inf_and_nan_text_in_a_number_column(
    engine: Engine, rel_db: DatabaseSettings, tmp_path: Path
) -> None:
    """CSV text: "inf" was loaded as Infinity; "nan" was quarantined as "not a number"."""
    cells = {
        "SCEM-0": "12,5",
        "SCEM-1": "inf",
        "SCEM-2": "-Infinity",
        "SCEM-3": "nan",
        "SCEM-4": "NaN",
        "SCEM-5": "1e999",  # overflows to Infinity
        "SCEM-6": "",
        "SCEM-7": "beaucoup",
    }
    lines = ["id_site;nom_site;insee_com;lib_com;surface_ha;longitude;latitude"]
    lines += [f"{k};Site {k};69123;Lyon;{v};4.85;45.75" for k, v in cells.items()]
    path = tmp_path / "scem.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest(rel_db, "sites", path)
    assert (report.rows_read, report.loaded, report.quarantined) == (8, 2, 6)
    finite = "is not a finite number"
    assert reasons(engine, report.run_id) == {
        "SCEM-1": (1, f"wrong type: surface_ha = 'inf' {finite}"),
        "SCEM-2": (2, f"wrong type: surface_ha = '-Infinity' {finite}"),
        "SCEM-3": (3, f"wrong type: surface_ha = 'nan' {finite}"),
        "SCEM-4": (4, f"wrong type: surface_ha = 'NaN' {finite}"),
        "SCEM-5": (5, f"wrong type: surface_ha = '1e999' {finite}"),
        "SCEM-7": (7, "wrong type: surface_ha = 'beaucoup' is not a number"),
    }
    raw = raw_records(engine, report.run_id)
    assert {k: r["surface_ha"] for k, r in raw.items()} == {
        k: v for k, v in cells.items() if k in raw
    }
    surfaces = "SELECT id, surface_ha FROM site WHERE id LIKE 'SCEM-%'"
    assert rows(engine, surfaces) == {"SCEM-0": 12.5, "SCEM-6": None}


@pytest.mark.usefixtures("parcels_v1")
def test_parcels_infinity_and_nan_contenance_quarantine_the_parcel(
    engine: Engine, rel_db: DatabaseSettings, tmp_path: Path
) -> None:
    """Etalab GeoJSON read in Arrow batches (10 features each: the tokens sit in two of the
    three). Infinity was "not an integer", then its raw record failed the whole file."""
    features = [parcel(i) for i in range(30)]
    contenance: dict[int, object] = {3: INF, 12: -INF, 14: NAN, 15: None, 16: 1600.5}
    for i, value in contenance.items():
        features[i]["properties"]["contenance"] = value
    (tmp_path / "v2").mkdir()
    path = etalab(tmp_path / f"v2/cadastre-{INSEE}-parcelles.json.gz", features)
    report = ingest(rel_db, "parcels", path, batch_rows=10, vintage="v2")
    assert (report.rows_read, report.loaded, report.quarantined) == (30, 26, 4)
    idu = f"{INSEE}000ZZ"
    finite = "is not a finite number"
    assert reasons(engine, report.run_id) == {
        f"{idu}0003": (3, f"wrong type: contenance_m2 = Infinity {finite}"),
        f"{idu}0012": (12, f"wrong type: contenance_m2 = -Infinity {finite}"),
        f"{idu}0014": (14, f"wrong type: contenance_m2 = 'NaN' {finite}"),
        f"{idu}0016": (16, "wrong type: contenance_m2 = 1600.5 is not an integer"),
    }
    raw = raw_records(engine, report.run_id)
    assert {k: r["contenance"] for k, r in raw.items()} == {
        f"{idu}0003": "Infinity",
        f"{idu}0012": "-Infinity",
        f"{idu}0014": "NaN",
        f"{idu}0016": 1600.5,
    }
    assert all(r["geometry"].startswith("POLYGON ((") for r in raw.values())
    # The null contenance is loaded as null; the refused parcels keep their v1 row.
    by_area = "SELECT contenance_m2, count(*) FROM parcel WHERE insee = :i GROUP BY 1"
    assert rows(engine, by_area, i=INSEE) == {1500: 29, None: 1}


def test_constraint_attributes_keep_infinity_and_nan(
    engine: Engine, rel_db: DatabaseSettings, tmp_path: Path
) -> None:
    """Constraint attributes are jsonb too: an Infinity there failed the whole file."""
    box = [[[4.83, 45.76], [4.836, 45.76], [4.836, 45.764], [4.83, 45.764], [4.83, 45.76]]]
    features = [
        {
            "type": "Feature",
            "properties": {"id": f"Z{i}", "nom": f"Zone {i}", "score": value},
            "geometry": {"type": "Polygon", "coordinates": box},
        }
        for i, value in enumerate([0.5, INF, -INF, NAN, None])
    ]
    path = etalab(tmp_path / "finite_zones.geojson", features)
    report = ingest(rel_db, "constraints", path, kind="ppr_technological")
    assert (report.rows_read, report.loaded, report.quarantined) == (5, 5, 0)
    scores = "SELECT name, attributes->'score' FROM constraint_zone WHERE source = :s"
    assert rows(engine, scores, s=path.name) == {
        "Zone 0": 0.5,
        "Zone 1": "Infinity",
        "Zone 2": "-Infinity",
        "Zone 3": "NaN",
        "Zone 4": None,
    }
