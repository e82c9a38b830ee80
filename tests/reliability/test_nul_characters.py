r"""NUL characters (U+0000) in a file's values, through the real pipeline.

PostgreSQL's text and jsonb cannot hold a NUL. Before: a CSV's NUL byte in a text column failed
the whole file (COPY: invalid byte sequence 0x00), as did one in a site's extra attribute or a
quarantined row's raw record (jsonb: unsupported Unicode escape); GDAL cut a GeoJSON string
property short at its NUL (``"Zo\u0000ne"`` loaded as ``"Zo"``, nothing said). Now a NUL in a
text column quarantines its row by column name while the others load, and jsonb keeps the NUL
as the visible text ``\u0000``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

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
from tests.reliability.test_non_finite_values import reasons, rows

NUL = "\x00"
SHOWN = "\\u0000"  # what text and jsonb hold where the file had a NUL
BARE = "@bare-nul@"  # replaced by a bare NUL byte in the file (invalid JSON, GDAL reads it)


@pytest.fixture(scope="module", autouse=True)
def restore(rel_db: DatabaseSettings, engine: Engine) -> Iterator[None]:
    yield
    # Sites loads replace the whole site table: give the other modules their fixture back.
    load_fixture_data(rel_db, engine)


def test_sites_geojson_nul_in_text_columns_and_attributes(
    engine: Engine, rel_db: DatabaseSettings, tmp_path: Path
) -> None:
    """Read whole: a NUL in nom or id quarantines the site; in an extra attribute it is kept."""
    props: dict[int, dict[str, object]] = {
        0: {"note": "plain"},
        1: {"site_nom": f"Zo{NUL}ne"},
        2: {"note": f"a{NUL}b"},
        3: {"tags": [f"x{NUL}y", "z"], "obj": {"k": f"v{NUL}"}},
        4: {"site_id": f"ZAE-4{NUL}bis"},
        5: {"site_nom": f"Zone{NUL}", "note": f"{NUL}n"},  # the raw record keeps both
        6: {"site_nom": f"Zone{BARE}6"},
        7: {"note": "C:\\u0000"},  # the text backslash-u0000, no NUL: loaded as it is
    }
    features = []
    for i, extra in props.items():
        feature = site(i, {"type": "Point", "coordinates": [4.85, 45.75]})
        feature["properties"].update(extra)  # type: ignore[union-attr]
        features.append(feature)
    path = etalab(tmp_path / "sites.geojson", features)
    path.write_bytes(path.read_bytes().replace(BARE.encode(), b"\x00"))
    report = ingest(rel_db, "sites", path)
    assert (report.rows_read, report.loaded, report.quarantined) == (8, 4, 4)
    nom = "nom contains a NUL character (U+0000)"
    assert reasons(engine, report.run_id) == {
        "ZAE-1": (1, nom),
        f"ZAE-4{SHOWN}bis": (4, "id contains a NUL character (U+0000)"),
        "ZAE-5": (5, nom),
        "ZAE-6": (6, nom),
    }
    # Nothing lost, nothing cut short: the raw record shows where the file had its NUL.
    raw = raw_records(engine, report.run_id)
    assert {k: r["site_nom"] for k, r in raw.items()} == {
        "ZAE-1": f"Zo{SHOWN}ne",
        f"ZAE-4{SHOWN}bis": "Zone 4",
        "ZAE-5": f"Zone{SHOWN}",
        "ZAE-6": f"Zone{SHOWN}6",
    }
    assert raw[f"ZAE-4{SHOWN}bis"]["site_id"] == f"ZAE-4{SHOWN}bis"
    assert raw["ZAE-5"]["note"] == f"{SHOWN}n"
    loaded = "SELECT id, attributes FROM site WHERE id LIKE 'ZAE-%'"
    assert rows(engine, loaded) == {
        "ZAE-0": {"note": "plain"},
        "ZAE-2": {"note": f"a{SHOWN}b"},
        "ZAE-3": {"tags": [f"x{SHOWN}y", "z"], "obj": {"k": f"v{SHOWN}"}},
        "ZAE-7": {"note": "C:\\u0000"},
    }


@pytest.mark.usefixtures("sites_v1")
def test_sites_csv_nul_bytes(engine: Engine, rel_db: DatabaseSettings, tmp_path: Path) -> None:
    """Pandas passes a CSV's NUL byte through: it failed the file in any column."""
    lines = [
        "id_site;nom_site;insee_com;lib_com;surface_ha;longitude;latitude;remarque",
        "SCEM-0;Site 0;69123;Lyon;1,5;4.85;45.75;ok",
        f"SCEM-1;Si{NUL}te;69123;Lyon;1,5;4.85;45.75;ok",
        f"SCEM-2;Site 2;69123;Lyon;1,5;4.85;45.75;r{NUL}q",
        f"SCEM-3;Site 3;69123;Lyon;2{NUL};4.85;45.75;ok",
        f"SCEM-4;Site 4;69123;Ly{NUL}on;1,5;4.85;45.75;{NUL}",
    ]
    path = tmp_path / "scem.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest(rel_db, "sites", path)
    assert (report.rows_read, report.loaded, report.quarantined) == (5, 2, 3)
    assert reasons(engine, report.run_id) == {
        "SCEM-1": (1, "nom contains a NUL character (U+0000)"),
        "SCEM-3": (3, "wrong type: surface_ha = '2\\x00' is not a number"),
        "SCEM-4": (4, "lib_com contains a NUL character (U+0000)"),
    }
    raw = raw_records(engine, report.run_id)
    assert raw["SCEM-1"]["nom_site"] == f"Si{SHOWN}te"
    assert raw["SCEM-3"]["surface_ha"] == f"2{SHOWN}"
    assert (raw["SCEM-4"]["lib_com"], raw["SCEM-4"]["remarque"]) == (f"Ly{SHOWN}on", SHOWN)
    loaded = "SELECT id, attributes->>'remarque' FROM site WHERE id LIKE 'SCEM-%'"
    assert rows(engine, loaded) == {"SCEM-0": "ok", "SCEM-2": f"r{SHOWN}q"}


@pytest.mark.usefixtures("parcels_v1")
def test_parcels_streamed_nul_in_id_and_commune(
    engine: Engine, rel_db: DatabaseSettings, tmp_path: Path
) -> None:
    """Etalab GeoJSON read in Arrow batches of 10: GDAL cut the values short at the NUL, so a
    parcel loaded under a shortened id or commune; each is now refused, its reason quoting
    the value. The layer stores section and numero from the id: a NUL in the file's section
    property is not loaded anywhere, and its parcel loads."""
    features = [parcel(i) for i in range(30)]
    features[3]["properties"]["id"] += f"{NUL}x"
    features[14]["properties"]["commune"] = f"250{NUL}56"
    features[25]["properties"]["id"] = f"{INSEE}000ZZ002{BARE}"  # 14 characters still
    features[26]["properties"]["section"] = f"Z{BARE}Z"
    (tmp_path / "v2").mkdir()
    path = etalab(tmp_path / f"v2/cadastre-{INSEE}-parcelles.json", features)
    path.write_bytes(path.read_bytes().replace(BARE.encode(), b"\x00"))
    report = ingest(rel_db, "parcels", path, batch_rows=10, vintage="v2")
    assert (report.rows_read, report.loaded, report.quarantined) == (30, 27, 3)
    idu = f"{INSEE}000ZZ"
    got = reasons(engine, report.run_id)
    assert got == {
        f"{idu}0003{SHOWN}x": (3, f"parcel id '{idu}0003\\x00x' has 16 characters, expected 14"),
        f"{idu}0014": (14, f"parcel id '{idu}0014' is not in commune '250\\x0056'"),
        f"{idu}002{SHOWN}": (
            25,
            f"parcel id '{idu}002\\x00' is not insee(5) + prefixe(3) + section(2) + numero(4)",
        ),
    }
    raw = raw_records(engine, report.run_id)
    assert raw[f"{idu}0003{SHOWN}x"]["id"] == f"{idu}0003{SHOWN}x"
    assert raw[f"{idu}0014"]["commune"] == f"250{SHOWN}56"
    assert raw[f"{idu}002{SHOWN}"]["id"] == f"{idu}002{SHOWN}"
    # The refused parcel 14 keeps its v1 row; the keys of 3 and 25 match no stored row, so
    # their v1 parcels are gone from the commune, as for any other wrong id.
    numbers = "SELECT numero, insee FROM parcel WHERE insee = :i"
    assert set(rows(engine, numbers, i=INSEE)) == {f"{i:04d}" for i in range(30)} - {
        "0003",
        "0025",
    }
    assert rows(engine, "SELECT section, numero FROM parcel WHERE idu = :i", i=f"{idu}0026") == {
        "ZZ": "0026"
    }
