"""OGC API Tiles as the abstract tests read it: the {tileMatrix}/{tileRow}/{tileCol} template,
the tiling-scheme links, 404 outside the tileset's zooms and the tilesets list."""

from __future__ import annotations

import morecantile
from fastapi.testclient import TestClient

from api.routes.features import CONFORMANCE

MVT = "application/vnd.mapbox-vector-tile"
TMS = morecantile.tms.get("WebMercatorQuad")
MORANGIS = (2.3345, 48.7011)
TILING_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"


def _template(client: TestClient, prefix: str = "") -> str:
    ts = client.get(f"{prefix}/collections/parcels/tiles/WebMercatorQuad").json()
    return next(link["href"] for link in ts["links"] if link["rel"] == "item")


def test_template_is_matrix_row_col_and_serves_the_right_tile(client: TestClient) -> None:
    for prefix in ("", "/ogc"):
        template = _template(client, prefix)
        assert template.endswith(
            "/ogc/collections/parcels/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}"
        ), template
    t = TMS.tile(*MORANGIS, 14)
    # Filled in by name: row = y, column = x, as in the OGC Tiles path.
    path = (
        _template(client)
        .removeprefix("http://testserver")
        .format(tileMatrix=14, tileRow=t.y, tileCol=t.x)
    )
    ogc = client.get(path)
    assert ogc.status_code == 200 and ogc.headers["content-type"] == MVT
    xyz = client.get(f"/collections/parcels/tiles/WebMercatorQuad/14/{t.x}/{t.y}")
    assert xyz.status_code == 200 and xyz.content == ogc.content
    assert xyz.headers["etag"] == ogc.headers["etag"]
    # The same numbers in XYZ order name another tile (over the Atlantic at this zoom).
    swapped = client.get(f"/ogc/collections/parcels/tiles/WebMercatorQuad/14/{t.x}/{t.y}")
    assert swapped.status_code == 204


def test_tile_outside_the_tilesets_zooms_is_404(client: TestClient) -> None:
    t = TMS.tile(*MORANGIS, 12)  # parcels start at zoom 13
    for path in (
        f"/collections/parcels/tiles/WebMercatorQuad/12/{t.x}/{t.y}",
        f"/ogc/collections/parcels/tiles/WebMercatorQuad/12/{t.y}/{t.x}",
        "/ogc/collections/parcels/tiles/WebMercatorQuad/23/0/0",  # above max_zoom 22
    ):
        r = client.get(path)
        assert r.status_code == 404, path
        assert r.headers["content-type"] == "application/problem+json"
        assert "zoom" in r.json()["detail"]
    # Inside the zooms with no feature: an empty tile is a 204 (OGC API Tiles permits it).
    assert client.get("/ogc/collections/communes/tiles/WebMercatorQuad/8/0/0").status_code == 204


def test_tileset_and_tilesets_list_link_the_tiling_scheme(client: TestClient) -> None:
    ts = client.get("/collections/parcels/tiles/WebMercatorQuad").json()
    rels = {link["rel"]: link["href"] for link in ts["links"]}
    assert rels[TILING_SCHEME].endswith("/tileMatrixSets/WebMercatorQuad")
    assert client.get(rels[TILING_SCHEME]).json()["id"] == "WebMercatorQuad"
    assert "self" in rels
    listed = client.get("/collections/parcels/tiles").json()
    entry = listed["tilesets"][0]
    assert {link["rel"] for link in entry["links"]} >= {"self", TILING_SCHEME}
    assert entry["tileMatrixSetURI"].endswith("/WebMercatorQuad")
    conf = set(client.get("/conformance").json()["conformsTo"])
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list" in conf
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets" in conf
    assert set(CONFORMANCE) == conf


def test_collections_link_their_tilesets_list(client: TestClient) -> None:
    coll = client.get("/collections/parcels").json()
    tiles = next(
        link["href"]
        for link in coll["links"]
        if link["rel"] == "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
    )
    assert tiles.endswith("/collections/parcels/tiles")
    assert client.get(tiles.removeprefix("http://testserver")).status_code == 200


def test_tilejson_template_matches_the_route_it_is_served_under(client: TestClient) -> None:
    root = client.get("/collections/parcels/tiles/WebMercatorQuad/tilejson.json").json()
    assert root["tiles"][0].endswith("/collections/parcels/tiles/WebMercatorQuad/{z}/{x}/{y}")
    ogc = client.get("/ogc/collections/parcels/tiles/WebMercatorQuad/tilejson.json").json()
    assert ogc["tiles"][0].endswith("/ogc/collections/parcels/tiles/WebMercatorQuad/{z}/{y}/{x}")


def test_tile_f_and_unknown_parameters(client: TestClient) -> None:
    t = TMS.tile(*MORANGIS, 14)
    path = f"/ogc/collections/parcels/tiles/WebMercatorQuad/14/{t.y}/{t.x}"
    assert client.get(path, params={"f": "mvt"}).status_code == 200
    assert client.get(path, params={"f": "html"}).status_code == 400
    r = client.get(path, params={"colour": "red"})
    assert r.status_code == 400 and "colour" in r.json()["detail"]
