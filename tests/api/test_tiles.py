"""OGC API Tiles: MVT per collection, min zoom, filters, ETag/304 from layer_version."""

from __future__ import annotations

import morecantile
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

MVT = "application/vnd.mapbox-vector-tile"
TMS = morecantile.tms.get("WebMercatorQuad")
MORANGIS = (2.3345, 48.7011)  # the test parcels, lon/lat


def tile_path(cid: str, z: int, lonlat: tuple[float, float] = MORANGIS) -> str:
    t = TMS.tile(*lonlat, z)
    return f"/collections/{cid}/tiles/WebMercatorQuad/{z}/{t.x}/{t.y}"


def test_parcel_tile_from_min_zoom(client: TestClient) -> None:
    r = client.get(tile_path("parcels", 14))
    assert r.status_code == 200
    assert r.headers["content-type"] == MVT
    assert b"parcels" in r.content and b"91432000AB0001" in r.content
    assert r.headers["cache-control"].startswith("public")
    # Below the tileset's first zoom: outside its limits, a 404 (OGC API Tiles /req/core/tc-error).
    below = client.get(tile_path("parcels", 12))
    assert below.status_code == 404


def test_tile_filters(client: TestClient) -> None:
    r = client.get(tile_path("parcels", 15), params={"score": "80"})
    assert b"91432000AB0001" in r.content and b"91432000AB0002" not in r.content
    r = client.get(tile_path("parcels", 15), params={"filter": "score < 50"})
    assert b"91432000AB0003" in r.content and b"91432000AB0001" not in r.content
    r = client.get(tile_path("parcels", 15), params={"bogus": "1"})
    assert r.status_code == 400


def test_communes_tile_at_low_zoom_and_empty_tile(client: TestClient) -> None:
    r = client.get(tile_path("communes", 8))
    assert r.status_code == 200 and b"Morangis" in r.content
    empty = client.get("/collections/communes/tiles/WebMercatorQuad/8/0/0")  # the Pacific
    assert empty.status_code == 204


def test_restricted_fields_never_in_anonymous_tiles(
    client: TestClient, keys: dict[str, str]
) -> None:
    anon = client.get(tile_path("sites", 14))
    assert anon.status_code == 200 and b"ZA des Sables" in anon.content
    assert b"Dupont" not in anon.content and b"prix_m2" not in anon.content
    private = client.get(tile_path("sites", 14), headers={"X-API-Key": keys["admin"]})
    assert b"Dupont" in private.content
    assert private.headers["cache-control"].startswith("private")
    assert private.headers["etag"] != anon.headers["etag"]


def test_etag_304_and_invalidation(client: TestClient, engine: Engine) -> None:
    path = tile_path("parcels", 14)
    first = client.get(path)
    etag = first.headers["etag"]
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and not again.content
    with engine.begin() as conn:  # what an ingest or a re-score does
        conn.execute(text("UPDATE layer_version SET version = version + 1 WHERE layer = 'parcels'"))
    after = client.get(path, headers={"If-None-Match": etag})
    assert after.status_code == 200 and after.headers["etag"] != etag


@pytest.mark.parametrize(
    "path",
    [
        "/collections/parcels/tiles/WebMercatorQuad/14/99999/0",
        "/collections/parcels/tiles/WebMercatorQuad/30/0/0",
        "/collections/parcels/tiles/WebMercatorQuad/-1/0/0",
        "/collections/parcels/tiles/WebMercatorQuad/14/a/0",
    ],
)
def test_bad_tile_coordinates_are_400(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"


def test_unknown_tms_and_collection_are_404(client: TestClient) -> None:
    assert client.get("/collections/parcels/tiles/WorldCRS84Quad/1/0/0").status_code == 404
    assert client.get("/collections/nope/tiles/WebMercatorQuad/1/0/0").status_code == 404


def test_tilesets_tilejson_and_tms(client: TestClient) -> None:
    sets = client.get("/collections/parcels/tiles").json()["tilesets"]
    assert sets[0]["dataType"] == "vector"
    ts = client.get("/collections/parcels/tiles/WebMercatorQuad").json()
    assert ts["tileMatrixSetLimits"][0]["tileMatrix"] == "13"
    assert any(link["rel"] == "item" for link in ts["links"])
    tj = client.get(
        "/collections/parcels/tiles/WebMercatorQuad/tilejson.json", params={"insee": "91432"}
    ).json()
    assert tj["tilejson"] == "3.0.0" and tj["minzoom"] == 13
    assert tj["tiles"][0].endswith(
        "/collections/parcels/tiles/WebMercatorQuad/{z}/{x}/{y}?insee=91432"
    )
    assert "score" in tj["vector_layers"][0]["fields"]
    assert "breakdown" not in tj["vector_layers"][0]["fields"]
    assert client.get("/tileMatrixSets").json()["tileMatrixSets"][0]["id"] == "WebMercatorQuad"
    assert client.get("/tileMatrixSets/WebMercatorQuad").json()["id"] == "WebMercatorQuad"


def test_if_none_match_lists_weak_tags_and_star(client: TestClient) -> None:
    path = tile_path("parcels", 14)
    etag = client.get(path).headers["etag"]
    listed = client.get(path, headers={"If-None-Match": f'"stale", W/{etag}'})
    assert listed.status_code == 304 and listed.headers["etag"] == etag
    assert client.get(path, headers={"If-None-Match": "*"}).status_code == 304
    assert client.get(path, headers={"If-None-Match": '"stale"'}).status_code == 200
    # Below the minimum zoom: no such tile (404), whatever the tags say.
    below = client.get(tile_path("parcels", 12), headers={"If-None-Match": "*"})
    assert below.status_code == 404


def test_affine_tile_geometry_matches_the_exact_transform(engine: Engine) -> None:
    """From AFFINE_MIN_ZOOM on, tiles project by a per-tile affine map: the fixture parcels land
    on the same MVT grid as with ST_Transform, give or take one rounding step."""
    from geo.tiles import AFFINE_MIN_ZOOM, lambert93_to_3857_affine

    t = TMS.tile(*MORANGIS, AFFINE_MIN_ZOOM)
    a, b, d, e, xoff, yoff = lambert93_to_3857_affine(AFFINE_MIN_ZOOM, t.x, t.y)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "WITH g AS (SELECT p.idu, ST_TileEnvelope(:z, :x, :y) AS env, p.geom FROM parcel p "
                "WHERE p.idu LIKE '91432%'), "
                "m AS (SELECT idu, "
                "ST_AsMVTGeom(ST_Transform(geom, 3857), env, 4096, 64, true) AS exact, "
                "ST_AsMVTGeom(ST_Affine(geom, :a, :b, :d, :e, :xoff, :yoff), env, 4096, 64, true) "
                "AS fast FROM g) "
                "SELECT idu, ST_NPoints(exact), ST_NPoints(fast), "
                "ST_HausdorffDistance(exact, fast) FROM m WHERE exact IS NOT NULL"
            ),
            {
                "z": AFFINE_MIN_ZOOM,
                "x": t.x,
                "y": t.y,
                "a": a,
                "b": b,
                "d": d,
                "e": e,
                "xoff": xoff,
                "yoff": yoff,
            },
        ).all()
    assert rows
    for idu, n_exact, n_fast, distance in rows:
        assert n_fast == n_exact, idu
        assert distance <= 1.0, idu
