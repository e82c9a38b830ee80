"""Corrupt data files through the real pipeline, on the parcels and sites layers.

Each bad file ends in a clear error naming it (or in quarantined rows with their reason), and
the previous version of the layer is still served intact: the API's answer for the layer is the
same before and after the failed load, and its ``layer_version`` has not moved.
tests/ingest/test_pipeline.py covers the same faults on the epci layer.
"""

from __future__ import annotations

import gzip
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy import text as sql_text

from config import DatabaseSettings, IngestSettings
from ingest.errors import IngestError, SourceError
from ingest.pipeline import IngestReport, run_ingest
from ingest.sources import IngestOptions
from tests.conftest import FIXTURES, scalar
from tests.reliability.conftest import EDIGEO_SHEET, load_fixture_data

INSEE = "25056"  # Besançon: no parcel of the shared fixture lives there


@pytest.fixture(scope="module", autouse=True)
def restore(rel_db: DatabaseSettings, engine: Engine) -> Iterator[None]:
    yield
    # Sites loads replace the whole site table: give the other modules their fixture back.
    load_fixture_data(rel_db, engine)


def ingest(
    db: DatabaseSettings,
    layer: str,
    path: Path,
    batch_rows: int = IngestSettings().batch_rows,
    **options: object,
) -> IngestReport:
    settings = IngestSettings(copy_chunk_rows=500, batch_rows=batch_rows)
    return run_ingest(layer, path, IngestOptions(**options), db, settings)  # type: ignore[arg-type]


def square(i: int, size: float = 0.0005) -> list[list[list[float]]]:
    x, y = 5.98 + (i % 20) * size, 47.24 + (i // 20) * size
    return [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]


def parcel(i: int, coords: object = None, gtype: str = "Polygon", idu: str | None = None) -> dict:
    return {
        "type": "Feature",
        "properties": {
            "id": idu or f"{INSEE}000ZZ{i:04d}",
            "commune": INSEE,
            "prefixe": "000",
            "section": "ZZ",
            "numero": f"{i:04d}",
            "contenance": 1500,
        },
        "geometry": {"type": gtype, "coordinates": square(i) if coords is None else coords},
    }


def etalab(path: Path, features: list[dict], crs: str | None = None) -> Path:
    doc: dict[str, object] = {"type": "FeatureCollection", "features": features}
    if crs:
        doc["crs"] = {"type": "name", "properties": {"name": crs}}
    data = json.dumps(doc).encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


def served(client: TestClient, collection: str, **params: str) -> tuple[object, ...]:
    """What the API serves for a layer (features and count), without the time stamp."""
    r = client.get(f"/collections/{collection}/items", params={"limit": 500, **params})
    assert r.status_code == 200, r.text
    body = r.json()
    return body["numberMatched"], body["features"]


def version(engine: Engine, layer: str) -> object:
    return scalar(engine, "SELECT version FROM layer_version WHERE layer = :l", l=layer)


@pytest.fixture
def parcels_v1(rel_db: DatabaseSettings, tmp_path: Path) -> Path:
    """Commune 25056 with 30 good parcels (Etalab layout), loaded."""
    path = etalab(tmp_path / f"cadastre-{INSEE}-parcelles.json.gz", [parcel(i) for i in range(30)])
    assert ingest(rel_db, "parcels", path, vintage="v1").loaded == 30
    return path


def refused_and_intact(
    client: TestClient, engine: Engine, db: DatabaseSettings, path: Path, match: str, **opts: object
) -> None:
    """Loading ``path`` fails with ``match`` and the parcels of 25056 are served as before."""
    before, v = served(client, "parcels", insee=INSEE), version(engine, "parcels")
    runs = scalar(engine, "SELECT count(*) FROM ingest_run")
    with pytest.raises(IngestError, match=match):
        ingest(db, "parcels", path, **opts)
    assert served(client, "parcels", insee=INSEE) == before
    assert before[0] == 30
    assert version(engine, "parcels") == v
    # A file that cannot even be read leaves no run; one that fails later leaves a failed run.
    assert scalar(engine, "SELECT count(*) FROM ingest_run WHERE status = 'running'") == 0
    assert scalar(engine, "SELECT count(*) FROM ingest_run") in (runs, runs + 1)


def test_truncated_gzip_parcels(
    parcels_v1: Path,
    rel_client: TestClient,
    engine: Engine,
    rel_db: DatabaseSettings,
    tmp_path: Path,
) -> None:
    cut = tmp_path / f"cut/cadastre-{INSEE}-parcelles.json.gz"
    cut.parent.mkdir()
    data = parcels_v1.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    refused_and_intact(rel_client, engine, rel_db, cut, r"cut/cadastre-25056.*corrupt or truncated")


def test_edigeo_archive_cut_in_half_keeps_the_sheet(
    rel_client: TestClient, engine: Engine, rel_db: DatabaseSettings, tmp_path: Path
) -> None:
    before = served(rel_client, "parcels", insee="25354")
    assert before[0] == 142
    cut = tmp_path / EDIGEO_SHEET.name
    data = EDIGEO_SHEET.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SourceError, match=r"edigeo-25354000AK01\.tar\.bz2: corrupt or truncated"):
        ingest(rel_db, "parcels", cut)
    # bz2 stream valid but the tar inside cut short: refused too.
    import bz2

    inner = bz2.decompress(data)
    cut.write_bytes(bz2.compress(inner[: len(inner) // 2]))
    with pytest.raises(SourceError, match="corrupt or truncated|no .THF|cannot be read"):
        ingest(rel_db, "parcels", cut)
    assert served(rel_client, "parcels", insee="25354") == before
    assert scalar(engine, "SELECT count(*) FROM building WHERE id LIKE '25354000AK01:%'") == 134


def test_geojson_cut_mid_feature_parcels(
    parcels_v1: Path,
    rel_client: TestClient,
    engine: Engine,
    rel_db: DatabaseSettings,
    tmp_path: Path,
) -> None:
    text = gzip.decompress(parcels_v1.read_bytes()).decode()
    cut = tmp_path / f"cadastre-{INSEE}-parcelles.json"
    cut.write_text(text[: text.index('"id": "25056000ZZ0015"') + 12])
    refused_and_intact(rel_client, engine, rel_db, cut, r"cadastre-25056-parcelles\.json")


def _shapefile(tmp_path: Path) -> Path:
    gdf = gpd.GeoDataFrame(
        {
            "id": [f"{INSEE}000ZZ{i:04d}" for i in range(30)],
            "commune": INSEE,
            "prefixe": "000",
            "section": "ZZ",
            "numero": [f"{i:04d}" for i in range(30)],
            "contenance": 1500,
        },
        geometry=[shapely.Polygon(square(i)[0]) for i in range(30)],
        crs=4326,
    )
    out = tmp_path / "shp" / "parcelles.shp"
    out.parent.mkdir()
    gdf.to_file(out)
    return out


@pytest.mark.parametrize(
    ("missing", "match"), [(".dbf", "lacks .dbf"), (".prj", "declares no CRS")]
)
@pytest.mark.usefixtures("parcels_v1")
def test_shapefile_without_dbf_or_prj(
    rel_client: TestClient,
    engine: Engine,
    rel_db: DatabaseSettings,
    tmp_path: Path,
    missing: str,
    match: str,
) -> None:
    shp = _shapefile(tmp_path)
    shp.with_suffix(missing).unlink()
    refused_and_intact(rel_client, engine, rel_db, shp, match)


@pytest.mark.usefixtures("parcels_v1")
def test_lambert93_numbers_declared_as_wgs84_parcels(
    rel_client: TestClient,
    engine: Engine,
    rel_db: DatabaseSettings,
    tmp_path: Path,
) -> None:
    l93 = [[[926000, 6680000], [926050, 6680000], [926050, 6680050], [926000, 6680000]]]
    path = etalab(tmp_path / "p.json", [parcel(i, l93) for i in range(30)])
    refused_and_intact(rel_client, engine, rel_db, path, "EPSG:2154")


@pytest.mark.usefixtures("parcels_v1")
def test_mixed_types_nan_and_self_intersections_are_quarantined_or_repaired(
    rel_client: TestClient,
    engine: Engine,
    rel_db: DatabaseSettings,
    tmp_path: Path,
) -> None:
    bowtie = [[[5.98, 47.30], [5.981, 47.301], [5.981, 47.30], [5.98, 47.301], [5.98, 47.30]]]
    old_3 = rel_client.get(f"/collections/parcels/items/{INSEE}000ZZ0003").json()["geometry"]
    features = [parcel(i) for i in range(30)]
    features[3] = parcel(3, [5.98, 47.24], "Point")  # a point where a polygon is expected
    features[4] = parcel(4, [[5.98, 47.24], [5.99, 47.25]], "LineString")
    features[5] = parcel(5, bowtie)  # self-intersecting: repaired
    text = json.dumps({"type": "FeatureCollection", "features": features})
    # NaN coordinates: not JSON, but GDAL reads the token; the row must not pass.
    text = text.replace(
        json.dumps(square(6))[1:-1], "[[5.98, 47.3], [5.99, NaN], [5.99, 47.31], [5.98, 47.3]]", 1
    )
    path = tmp_path / f"cadastre-{INSEE}-parcelles.json"
    path.write_text(text)
    report = ingest(rel_db, "parcels", path)
    with engine.connect() as conn:
        from sqlalchemy import text as sql_text

        reasons = dict(
            conn.execute(
                sql_text("SELECT key, reason FROM quarantine WHERE run_id = :r"),
                {"r": report.run_id},
            ).all()
        )
    assert "polygon is expected" in reasons[f"{INSEE}000ZZ0003"]
    assert "polygon is expected" in reasons[f"{INSEE}000ZZ0004"]
    assert f"{INSEE}000ZZ0006" in reasons, reasons  # NaN: quarantined, not loaded
    assert report.repaired >= 1
    assert (
        scalar(engine, f"SELECT ST_IsValid(geom) FROM parcel WHERE idu = '{INSEE}000ZZ0005'")
        is True
    )
    # Quarantined keys keep their previous version, still served.
    assert (
        rel_client.get(f"/collections/parcels/items/{INSEE}000ZZ0003").json()["geometry"] == old_3
    )
    assert served(rel_client, "parcels", insee=INSEE)[0] == 30


NAN = float("nan")  # json.dumps writes it as the NaN token, which GDAL reads


def nan_polygons(x: float, y: float, size: float = 0.0005) -> dict[str, list[object]]:
    """Polygon coordinates GEOS cannot even build: NaN end points make a ring "not closed"."""
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    q = size / 4
    hole = [[x + q, y + q], [x + 2 * q, y + q], [x + 2 * q, y + 2 * q], [x + q, y + q]]
    return {
        "x of the end points": [[[NAN, y], *ring[1:-1], [NAN, y]]],
        "both coordinates of the end points": [[[NAN, NAN], *ring[1:-1], [NAN, NAN]]],
        "every point": [[[NAN, NAN]] * 5],
        "end points of a hole": [ring, [[NAN, y + q], *hole[1:-1], [NAN, y + q]]],
        "first point only, ring not closed": [[[NAN, y], *ring[1:]]],
    }


def quarantined(engine: Engine, run_id: int) -> dict[str, tuple[int, str, str]]:
    """Quarantine rows of a run by key: (feature index, reason, raw geometry)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sql_text(
                "SELECT key, feature_index, reason, raw->>'geometry' FROM quarantine "
                "WHERE run_id = :r"
            ),
            {"r": run_id},
        ).all()
    return {key: (index, reason, geometry) for key, index, reason, geometry in rows}


@pytest.mark.usefixtures("parcels_v1")
def test_nan_ring_end_points_quarantine_the_parcel_not_the_file(
    rel_client: TestClient,
    engine: Engine,
    rel_db: DatabaseSettings,
    tmp_path: Path,
) -> None:
    """Etalab GeoJSON, read in Arrow batches: the WKB path finds the NaN before GEOS sees it."""
    features = [parcel(i) for i in range(30)]
    bad = list(nan_polygons(5.98, 47.3).values())
    bad.append([bad[0], square(12)])  # one part of a MultiPolygon
    for i, coords in enumerate(bad, start=6):
        features[i] = parcel(i, coords, "MultiPolygon" if i == 11 else "Polygon")
    for f in features:
        f["properties"]["contenance"] = 1600  # what this edition changes
    (tmp_path / "v2").mkdir()
    # Another path than parcels_v1's: GDAL's /vsigzip/ keeps what it learnt of a .gz by name.
    path = etalab(tmp_path / f"v2/cadastre-{INSEE}-parcelles.json.gz", features)
    report = ingest(rel_db, "parcels", path, vintage="v2")
    assert (report.rows_read, report.loaded, report.quarantined) == (30, 24, 6)
    rows = quarantined(engine, report.run_id)
    assert set(rows) == {f"{INSEE}000ZZ{i:04d}" for i in range(6, 12)}
    for key, (index, reason, geometry) in rows.items():
        assert (index, reason) == (int(key[-4:]), "NaN coordinates")
        # Nothing lost: the raw record keeps the geometry, NaN included.
        assert geometry.startswith(("POLYGON ((", "MULTIPOLYGON (((")) and "NaN" in geometry
    assert scalar(engine, "SELECT source FROM ingest_run WHERE id = :r", r=report.run_id) == str(
        path
    )
    # The quarantined parcels keep their previous version; the others are this file's.
    assert served(rel_client, "parcels", insee=INSEE)[0] == 30
    by_area = "SELECT contenance_m2, count(*) FROM parcel WHERE insee = :i GROUP BY 1"
    with engine.connect() as conn:
        assert dict(conn.execute(sql_text(by_area), {"i": INSEE}).all()) == {1500: 6, 1600: 24}


@pytest.mark.usefixtures("parcels_v1")
def test_file_of_mostly_duplicate_keys_is_refused(
    rel_client: TestClient,
    engine: Engine,
    rel_db: DatabaseSettings,
    tmp_path: Path,
) -> None:
    """30 distinct ids over 600 rows: a broken export, not a new edition of the commune."""
    features = [parcel(i % 10) for i in range(600)]
    path = etalab(tmp_path / f"cadastre-{INSEE}-parcelles.json", features)
    refused_and_intact(rel_client, engine, rel_db, path, "590 of 600 rows repeat a key")
    reasons = scalar(
        engine,
        "SELECT count(*) FROM quarantine q JOIN ingest_run r ON r.id = q.run_id "
        "WHERE r.status = 'failed' AND q.reason LIKE 'duplicate key%'",
    )
    assert reasons == 590  # the refused rows are still kept for the operator


# --- sites -------------------------------------------------------------------------------------


@pytest.fixture
def sites_v1(rel_db: DatabaseSettings, rel_client: TestClient) -> tuple[object, ...]:
    report = ingest(rel_db, "sites", FIXTURES / "scem_officiel.csv", vintage="v1")
    assert report.loaded == 2
    return served(rel_client, "sites")


def test_non_utf8_sites_csv_is_refused_and_sites_stay(
    sites_v1: tuple[object, ...],
    rel_client: TestClient,
    engine: Engine,
    rel_db: DatabaseSettings,
    tmp_path: Path,
) -> None:
    v = version(engine, "sites")
    latin = tmp_path / "sites.csv"
    latin.write_bytes(
        (FIXTURES / "scem_officiel.csv")
        .read_text(encoding="utf-8")
        .replace("Lyon", "Lyon Confluence é")
        .encode("latin-1")
    )
    with pytest.raises(SourceError, match=r"sites\.csv: line \d+ is not valid UTF-8"):
        ingest(rel_db, "sites", latin)
    gz = tmp_path / "sites.csv.gz"
    gz.write_bytes(gzip.compress((FIXTURES / "scem_officiel.csv").read_bytes())[:-30])
    with pytest.raises(SourceError, match="corrupt or truncated"):
        ingest(rel_db, "sites", gz)
    assert served(rel_client, "sites") == sites_v1
    assert version(engine, "sites") == v


def test_sites_geojson_cut_and_mixed(
    sites_v1: tuple[object, ...],
    rel_client: TestClient,
    rel_db: DatabaseSettings,
    tmp_path: Path,
) -> None:
    cut = tmp_path / "sites.geojson"
    shutil.copyfile(FIXTURES / "sites_generic.geojson", cut)
    cut.write_text(cut.read_text()[:-60])
    with pytest.raises(SourceError, match=r"sites\.geojson"):
        ingest(rel_db, "sites", cut)
    assert served(rel_client, "sites") == sites_v1


@pytest.mark.usefixtures("sites_v1")
def test_nan_ring_end_points_quarantine_the_site_not_the_file(
    rel_client: TestClient,
    engine: Engine,
    rel_db: DatabaseSettings,
    tmp_path: Path,
) -> None:
    """A sites GeoJSON is read whole (GeoPandas): GEOS refused the file before the fix."""

    def site(i: int, geometry: dict[str, object]) -> dict[str, object]:
        props = {"site_id": f"ZAE-{i}", "site_nom": f"Zone {i}", "site_comm_insee": "69123"}
        return {"type": "Feature", "properties": props, "geometry": geometry}

    box = [[[4.83, 45.76], [4.836, 45.76], [4.836, 45.764], [4.83, 45.764], [4.83, 45.76]]]
    features = [site(0, {"type": "Polygon", "coordinates": box})]
    features.append(site(1, {"type": "Point", "coordinates": [4.85, 45.75]}))
    for i, coords in enumerate(nan_polygons(4.84, 45.77).values(), start=2):
        features.append(site(i, {"type": "Polygon", "coordinates": coords}))
    features.append(site(7, {"type": "Polygon", "coordinates": [[[4.85, 45.78], [4.851, 45.78]]]}))
    path = etalab(tmp_path / "sites.geojson", features)
    report = ingest(rel_db, "sites", path)
    assert (report.rows_read, report.loaded, report.quarantined) == (8, 2, 6)
    rows = quarantined(engine, report.run_id)
    assert {k: (i, r) for k, (i, r, _) in rows.items() if k != "ZAE-7"} == {
        f"ZAE-{i}": (i, "NaN coordinates") for i in range(2, 7)
    }
    assert all("NaN" in g for k, (_, _, g) in rows.items() if k != "ZAE-7")
    # A 2-point ring without NaN: closed on reading, then refused for that feature alone.
    assert rows["ZAE-7"][:2] == (
        7,
        "unrepairable geometry: nothing polygonal left after make_valid",
    )
    assert {f["id"] for f in served(rel_client, "sites")[1]} == {"ZAE-0", "ZAE-1"}


INF = float("inf")  # json.dumps writes it as the Infinity token, which GDAL reads


def infinite_polygons(x: float, y: float, size: float = 0.0005) -> dict[str, list[object]]:
    """Polygon coordinates with Infinity, each once a file's whole-file failure."""
    ring = [[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]
    q = size / 4
    hole = [[x + q, y + q], [x + 2 * q, y + q], [x + 2 * q, y + 2 * q], [x + q, y + q]]
    return {
        "x of the end points": [[[INF, y], *ring[1:-1], [INF, y]]],
        "-Infinity y of a middle point": [[ring[0], [x + size, -INF], *ring[2:]]],
        "first point only, ring not closed": [[[INF, y], *ring[1:]]],
        "a point of a hole": [ring, [hole[0], [INF, INF], *hole[2:]]],
    }


@pytest.mark.usefixtures("parcels_v1")
def test_infinity_quarantines_the_parcel_not_the_file(
    engine: Engine,
    rel_db: DatabaseSettings,
    tmp_path: Path,
) -> None:
    """Etalab GeoJSON read in Arrow batches: Infinity failed the file as 'cannot be lon/lat'."""
    features = [parcel(i) for i in range(30)]
    bad = list(infinite_polygons(5.98, 47.3).values())
    bad.append([bad[0], square(12)])  # one part of a MultiPolygon
    for i, coords in enumerate(bad, start=6):
        features[i] = parcel(i, coords, "MultiPolygon" if i == 10 else "Polygon")
    for f in features:
        f["properties"]["contenance"] = 1600  # what this edition changes
    (tmp_path / "v2").mkdir()
    path = etalab(tmp_path / f"v2/cadastre-{INSEE}-parcelles.json.gz", features)
    report = ingest(rel_db, "parcels", path, vintage="v2")
    assert (report.rows_read, report.loaded, report.quarantined) == (30, 25, 5)
    rows = quarantined(engine, report.run_id)
    assert {k: (i, r) for k, (i, r, _) in rows.items()} == {
        f"{INSEE}000ZZ{i:04d}": (i, "infinite coordinates") for i in range(6, 11)
    }
    for _, _, geometry in rows.values():
        # Nothing lost: the raw record keeps the geometry, Infinity included.
        assert geometry.startswith(("POLYGON ((", "MULTIPOLYGON (((")) and "Infinity" in geometry
    by_area = "SELECT contenance_m2, count(*) FROM parcel WHERE insee = :i GROUP BY 1"
    with engine.connect() as conn:
        assert dict(conn.execute(sql_text(by_area), {"i": INSEE}).all()) == {1500: 5, 1600: 25}


def site(i: int, geometry: dict[str, object] | None) -> dict[str, object]:
    """A generic (CNIG names) site feature of Lyon."""
    props = {"site_id": f"ZAE-{i}", "site_nom": f"Zone {i}", "site_comm_insee": "69123"}
    return {"type": "Feature", "properties": props, "geometry": geometry}


@pytest.mark.usefixtures("sites_v1")
def test_infinity_quarantines_the_site_not_the_file(
    rel_client: TestClient,
    engine: Engine,
    rel_db: DatabaseSettings,
    tmp_path: Path,
) -> None:
    """A sites GeoJSON is read whole: polygons and points with Infinity, each refused alone."""
    box = [[[4.83, 45.76], [4.836, 45.76], [4.836, 45.764], [4.83, 45.764], [4.83, 45.76]]]
    features = [site(0, {"type": "Polygon", "coordinates": box})]
    features.append(site(1, {"type": "Point", "coordinates": [4.85, 45.75]}))
    for i, coords in enumerate(infinite_polygons(4.84, 45.77).values(), start=2):
        features.append(site(i, {"type": "Polygon", "coordinates": coords}))
    features.append(site(6, {"type": "Point", "coordinates": [INF, 45.75]}))
    features.append(site(7, {"type": "Point", "coordinates": [4.85, -INF]}))
    path = etalab(tmp_path / "sites.geojson", features)
    report = ingest(rel_db, "sites", path)
    assert (report.rows_read, report.loaded, report.quarantined) == (8, 2, 6)
    rows = quarantined(engine, report.run_id)
    assert {k: (i, r) for k, (i, r, _) in rows.items()} == {
        f"ZAE-{i}": (i, "infinite coordinates") for i in range(2, 8)
    }
    assert all("Infinity" in g for _, _, g in rows.values())
    assert rows["ZAE-6"][2] == "POINT (Infinity 45.75)"
    assert {f["id"] for f in served(rel_client, "sites")[1]} == {"ZAE-0", "ZAE-1"}


@pytest.mark.parametrize("layer", ["parcels", "sites"])
def test_lambert93_numbers_declared_as_wgs84_are_refused_despite_an_infinity(
    rel_db: DatabaseSettings, tmp_path: Path, layer: str
) -> None:
    """Infinity is left out of the extent check; real projected numbers still fail the file."""
    l93 = [[[926000, 6680000], [926050, 6680000], [926050, 6680050], [926000, 6680000]]]
    inf = infinite_polygons(5.98, 47.3)["x of the end points"]
    if layer == "parcels":  # streamed: the WKB path's extent
        features = [parcel(i, l93) for i in range(5)] + [parcel(5, inf)]
    else:  # read whole: points and polygons, through shapely's bounds
        features = [site(0, {"type": "Point", "coordinates": [926000, 6680000]})]
        features += [site(1, {"type": "Point", "coordinates": [INF, 47.3]})]
        features += [site(2, {"type": "Polygon", "coordinates": inf})]
    path = etalab(tmp_path / f"{layer}.json", features)
    up_to = r"\(926050, 6680050\)" if layer == "parcels" else r"\(926000, 6680000\)"
    with pytest.raises(SourceError, match=rf"{layer}\.json: coordinates up to {up_to} .*EPSG:2154"):
        ingest(rel_db, layer, path)


def raw_records(engine: Engine, run_id: int) -> dict[str, dict[str, object]]:
    """Quarantine raw records of a run by key."""
    with engine.connect() as conn:
        rows = conn.execute(
            sql_text("SELECT key, raw FROM quarantine WHERE run_id = :r"), {"r": run_id}
        ).all()
    return dict(rows)  # type: ignore[arg-type]


@pytest.mark.usefixtures("sites_v1")
def test_csv_wkt_that_geos_cannot_read_is_quarantined_with_its_text(
    rel_client: TestClient,
    engine: Engine,
    rel_db: DatabaseSettings,
    tmp_path: Path,
) -> None:
    """A CSV's WKT that GEOS refuses was 'missing geometry', its text dropped."""
    wkt = {
        0: "POLYGON ((4.83 45.76, 4.836 45.76, 4.836 45.764, 4.83 45.764, 4.83 45.76))",
        1: "POINT (4.85 45.75)",
        2: "POLYGON ((4.84 45.77, 4.842 45.77, 4.842 45.772, 4.84 45.772))",  # closed on reading
        3: "",  # no geometry: placed at its commune
        4: "POLYGON ((NaN 45, 4.8 45, 4.8 45.1, NaN 45))",
        5: "POLYGON ((4.8 NaN, 4.8 45, 4.9 45.1, 4.7 45))",  # NaN first point, not closed
        6: "POLYGON ((1 2, 3",
        7: "POLYGON ((4.8 45, 4.81 NaN, 4.81 45.1, 4.8 45))",  # GEOS reads it: NaN in the middle
        8: "POLYGON ((Infinity 45, 4.8 45, 4.8 45.1, Infinity 45))",
        9: "PLYGON ((4.8 45, 4.81 45, 4.81 45.1, 4.8 45))",
    }
    lines = ["site_id;site_nom;site_comm_insee;wkt"]
    lines += [f"ZAE-{i};Zone {i};69123;{text}" for i, text in wkt.items()]
    path = tmp_path / "sites.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest(rel_db, "sites", path, crs="EPSG:4326")
    assert (report.rows_read, report.loaded, report.quarantined) == (10, 4, 6)
    rows = quarantined(engine, report.run_id)
    assert {k: (i, r) for k, (i, r, _) in rows.items()} == {
        "ZAE-4": (4, "NaN coordinates"),
        "ZAE-5": (5, "NaN coordinates"),
        "ZAE-6": (
            6,
            "unreadable WKT: ParseException: Expected number but encountered end of stream",
        ),
        "ZAE-7": (7, "NaN coordinates"),
        "ZAE-8": (8, "infinite coordinates"),
        "ZAE-9": (9, "unreadable WKT: ParseException: Unknown type: 'PLYGON'"),
    }
    # Nothing lost: the WKT GEOS could not read is kept as the file wrote it.
    for i in (4, 5, 6, 9):
        assert rows[f"ZAE-{i}"][2] == wkt[i]
    sites = {f["id"]: f for f in served(rel_client, "sites")[1]}
    assert set(sites) == {"ZAE-0", "ZAE-1", "ZAE-2", "ZAE-3"}
    precision = "SELECT id, location_precision FROM site WHERE id LIKE 'ZAE-%'"
    with engine.connect() as conn:
        assert dict(conn.execute(sql_text(precision)).all()) == {
            "ZAE-0": "polygon",
            "ZAE-1": "point",
            "ZAE-2": "polygon",
            "ZAE-3": "commune",
        }


@pytest.mark.usefixtures("sites_v1")
def test_csv_lon_lat_that_are_not_finite_numbers_are_quarantined(
    rel_client: TestClient,
    engine: Engine,
    rel_db: DatabaseSettings,
    tmp_path: Path,
) -> None:
    """The official sites CSV (lon/lat columns): text, NaN and Infinity were silently dropped
    (the site placed at its commune) or failed the file."""
    cells = {
        "SCEM-0": ("4,8357", "45,7640"),
        "SCEM-1": ("", ""),  # no coordinates: placed at its commune
        "SCEM-2": ("NaN", "45.76"),
        "SCEM-3": ("4.83", "Infinity"),
        "SCEM-4": ("-inf", "45.76"),
        "SCEM-5": ("4.83 E", "45.76"),
        "SCEM-6": ("4.83", ""),
    }
    lines = ["id_site;nom_site;insee_com;lib_com;longitude;latitude"]
    lines += [f"{k};Site {k};69123;Lyon;{x};{y}" for k, (x, y) in cells.items()]
    path = tmp_path / "scem.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = ingest(rel_db, "sites", path)
    assert (report.rows_read, report.loaded, report.quarantined) == (7, 2, 5)
    rows = quarantined(engine, report.run_id)
    assert {k: (i, r) for k, (i, r, _) in rows.items()} == {
        "SCEM-2": (2, "NaN coordinates"),
        "SCEM-3": (3, "infinite coordinates"),
        "SCEM-4": (4, "infinite coordinates"),
        "SCEM-5": (5, "wrong type: longitude = '4.83 E' is not a number"),
        "SCEM-6": (6, "missing latitude beside longitude = '4.83'"),
    }
    # The cells are kept as the file wrote them.
    raw = raw_records(engine, report.run_id)
    assert {k: (r["longitude"], r["latitude"]) for k, r in raw.items()} == {
        k: (x or None, y or None) for k, (x, y) in cells.items() if k in rows
    }
    assert {f["id"] for f in served(rel_client, "sites")[1]} == {"SCEM-0", "SCEM-1"}
