"""Typed exports in every format, read back by GDAL (pyogrio), geopandas and pyarrow with their
counts and field types: booleans as booleans, rounded numbers, the id named ``id`` once."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import geopandas as gpd
import pyarrow.parquet as pq
import pyogrio
import pytest
from fastapi.testclient import TestClient

# What GDAL reports for the typed parcel columns, whatever the format.
PARCEL_TYPES = {
    "id": ("OFTString", "OFSTNone"),
    "contenance_m2": ("OFTInteger64", "OFSTNone"),
    "built": ("OFTInteger", "OFSTBoolean"),
    "score": ("OFTReal", "OFSTNone"),
    "excluded": ("OFTInteger", "OFSTBoolean"),
    "zan_cost_ha": ("OFTReal", "OFSTNone"),
    "breakdown": ("OFTString", "OFSTNone"),
}


def _download(client: TestClient, tmp_path: Path, cid: str, fmt: str, **params: str) -> Path:
    r = client.get(f"/collections/{cid}/export", params={"format": fmt, **params})
    assert r.status_code == 200, r.text
    path = tmp_path / r.headers["content-disposition"].split('filename="')[1].rstrip('"')
    path.write_bytes(r.content)
    return path


def _types(path: Path) -> dict[str, tuple[str, str]]:
    info = pyogrio.read_info(path)
    return {
        name: (kind, sub)
        for name, kind, sub in zip(
            info["fields"], info["ogr_types"], info["ogr_subtypes"], strict=True
        )
    }


@pytest.mark.parametrize("fmt", ["gpkg", "fgb"])
def test_gdal_files_are_typed(client: TestClient, tmp_path: Path, fmt: str) -> None:
    path = _download(client, tmp_path, "parcels", fmt, crs="EPSG:2154")
    assert pyogrio.read_info(path)["features"] == 6
    types = _types(path)
    assert {k: types[k] for k in PARCEL_TYPES} == PARCEL_TYPES
    assert list(types).count("id") == 1 and "fid_source" not in types
    frame = pyogrio.read_dataframe(path).set_index("id")
    assert frame.crs.to_epsg() == 2154
    assert frame.loc["91432000AB0004", "excluded"]
    assert not frame.loc["91432000AB0001", "excluded"]
    assert frame.loc["91432000AB0001", "geometry"].area == pytest.approx(10_000)


def test_geojson_text_sequence(client: TestClient, tmp_path: Path) -> None:
    path = _download(client, tmp_path, "communes", "geojsonseq", dep="91")
    assert path.suffix == ".geojsons"
    body = path.read_bytes()
    records = body.split(b"\x1e")[1:]
    assert records and all(r.endswith(b"\n") for r in records)
    info = pyogrio.read_info(path)
    assert info["driver"] == "GeoJSONSeq"
    assert (
        info["features"]
        == len(records)
        == len(
            client.get("/collections/communes/items", params={"dep": "91", "limit": 500}).json()[
                "features"
            ]
        )
    )
    assert "Morangis" in set(pyogrio.read_dataframe(path)["nom"])


def test_geoparquet(client: TestClient, tmp_path: Path) -> None:
    path = _download(client, tmp_path, "parcels", "parquet", crs="EPSG:2154")
    frame = gpd.read_parquet(path)  # geopandas checks the GeoParquet metadata
    assert len(frame) == 6 and frame.crs.to_epsg() == 2154
    assert frame.geometry.geom_type.unique().tolist() == ["MultiPolygon"]
    schema = pq.read_schema(path)
    assert str(schema.field("excluded").type) == "bool"
    assert str(schema.field("score").type) == "double"
    assert str(schema.field("contenance_m2").type) == "int64"
    assert schema.names.count("id") == 1
    units = gpd.read_parquet(_download(client, tmp_path, "land-units", "parquet"))
    assert units["id"].dtype == "int64" and units.crs.to_epsg() == 4326


def test_empty_exports_are_valid_files(client: TestClient, tmp_path: Path) -> None:
    for fmt in ("fgb", "gpkg"):
        path = _download(client, tmp_path, "sites", fmt, insee="00000")
        assert pyogrio.read_info(path, force_feature_count=True)["features"] == 0
    assert len(gpd.read_parquet(_download(client, tmp_path, "sites", "parquet", insee="0"))) == 0


def test_csv_is_typed_rounded_and_has_one_id(client: TestClient, tmp_path: Path) -> None:
    r = client.get("/collections/sites/export", params={"format": "csv", "sortby": "id"})
    rows = list(csv.DictReader(io.StringIO(r.text), delimiter=";"))
    header = r.text.splitlines()[0].split(";")
    assert header.count("id") == 1 and header[:2] == ["id", "geometry_wkt"]
    morangis = next(row for row in rows if row["id"] == "site-morangis-1")
    assert morangis["cle_en_main"] == "true" and morangis["excluded"] == "false"
    assert morangis["score"] == "72.0" and morangis["envelope_share"] == "0.12"
    path = tmp_path / "sites.csv"
    path.write_bytes(r.content)
    info = pyogrio.read_info(path, AUTODETECT_TYPE="YES")
    types = dict(zip(info["fields"], info["ogr_subtypes"], strict=True))
    assert types["cle_en_main"] == "OFSTBoolean" and info["features"] == len(rows)
    french = client.get(
        "/collections/sites/export", params={"format": "csv", "decimal": "comma", "sortby": "id"}
    ).text
    morangis = next(
        row
        for row in csv.DictReader(io.StringIO(french), delimiter=";")
        if row["id"] == "site-morangis-1"
    )
    assert morangis["cle_en_main"] == "VRAI" and morangis["score"] == "72,0"


def test_numbers_are_rounded_to_their_meaning() -> None:
    from api.collections import COLLECTIONS
    from api.export_files import cell

    parcels = COLLECTIONS["parcels"]
    zan, score, share = (parcels.prop(n) for n in ("zan_cost_ha", "score", "envelope_share"))
    assert zan is not None and score is not None and share is not None
    assert cell(zan, 1.23456789) == 1.2346
    assert cell(score, 72.04) == 72.0
    assert cell(share, 0.123456) == 0.1235
    sites = COLLECTIONS["sites"]
    prix = sites.prop("prix_m2")
    assert prix is not None and cell(prix, 45.456) == 45.46
