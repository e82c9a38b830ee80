"""Polygons reprojected from their WKB bytes agree with the shapely path, to the micrometre."""

from __future__ import annotations

import struct
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pytest
import shapely

from geo.errors import CrsError
from geo.geometry import (
    LAMBERT93,
    WGS84,
    check_geographic_bounds,
    clean_points,
    clean_polygons,
    reproject,
    wkb_problems,
    wkt_problem,
)
from geo.wkb import polygon_wkt, reproject_wkb_polygons
from tests.conftest import SAMPLES

REAL = [
    SAMPLES / "cadastre" / "etalab" / "cadastre-91027-parcelles.json.gz",
    SAMPLES / "admin" / "communes_2022_sample.geojson.gz",
    SAMPLES / "urbanisme" / "plu_megeve_74173_zone_urba.geojson.gz",
]


def _shapely_path(geoms: np.ndarray, source: object) -> np.ndarray:
    out = reproject(geoms, source, LAMBERT93)  # type: ignore[arg-type]
    return np.array([shapely.MultiPolygon(shapely.get_parts(g)) for g in out], dtype=object)


def _assert_same(wkb: np.ndarray, geoms: np.ndarray, source: object) -> None:
    res = reproject_wkb_polygons(wkb, source, LAMBERT93)  # type: ignore[arg-type]
    assert res.handled.all() and (res.problems == None).all()  # noqa: E711
    ours = shapely.from_wkb(res.ewkb)
    assert (shapely.get_srid(ours) == 2154).all()
    assert set(shapely.get_type_id(ours)) == {6}
    theirs = _shapely_path(geoms, source)
    # Same structure (parts, rings, points in order) and coordinates within 1e-6 m.
    assert (shapely.get_num_coordinates(ours) == shapely.get_num_coordinates(theirs)).all()
    assert (shapely.get_num_geometries(ours) == shapely.get_num_geometries(theirs)).all()
    assert np.abs(shapely.get_coordinates(ours) - shapely.get_coordinates(theirs)).max() < 1e-6


@pytest.mark.parametrize("path", REAL, ids=lambda p: Path(p).name)
def test_real_samples_match_the_shapely_path(path: Path) -> None:
    frame = gpd.read_file(f"/vsigzip/{path}", engine="pyogrio")
    geoms = frame.geometry.to_numpy()
    geoms = geoms[np.isin(shapely.get_type_id(geoms), (3, 6))]
    # The PLU has Z coordinates, which go to the shapely path as they are (checked below).
    geoms = shapely.force_2d(geoms)
    _assert_same(shapely.to_wkb(geoms, byte_order=1), geoms, frame.crs)


def test_synthetic_polygons_holes_and_multipolygons_match() -> None:
    rng = np.random.default_rng(1)
    geoms = []
    for i in range(300):
        x, y = 2 + rng.random() * 5, 43 + rng.random() * 5
        outer = shapely.box(x, y, x + 0.01, y + 0.01)
        hole = shapely.box(x + 0.002, y + 0.002, x + 0.004, y + 0.004)
        poly = outer.difference(hole) if i % 2 else outer
        if i % 3 == 0:
            poly = shapely.MultiPolygon([poly, shapely.box(x + 0.02, y, x + 0.03, y + 0.01)])
        geoms.append(poly)
    arr = np.array(geoms, dtype=object)
    _assert_same(shapely.to_wkb(arr, byte_order=1), arr, WGS84)
    # Already in Lambert-93: coordinates kept bit for bit, only the header changes.
    res = reproject_wkb_polygons(shapely.to_wkb(arr, byte_order=1), LAMBERT93, LAMBERT93)
    assert shapely.equals_exact(shapely.from_wkb(res.ewkb), _shapely_path(arr, LAMBERT93), 0).all()


def test_problems_and_what_is_left_to_shapely() -> None:
    square = shapely.box(2, 45, 2.01, 45.01)
    le = shapely.to_wkb(square, byte_order=1)
    values = np.array(
        [
            le,
            None,
            shapely.to_wkb(shapely.from_wkt("POLYGON EMPTY"), byte_order=1),
            shapely.to_wkb(shapely.from_wkt("POLYGON ((2 45, 2 nan, 3 45, 2 45))"), byte_order=1),
            shapely.to_wkb(square, byte_order=0),  # big-endian
            shapely.to_wkb(shapely.force_3d(square), byte_order=1),  # Z
            shapely.to_wkb(shapely.Point(2, 45), byte_order=1),
            shapely.to_wkb(shapely.GeometryCollection([square]), byte_order=1),
            le[:-8],  # truncated
            square,  # not bytes
        ],
        dtype=object,
    )
    res = reproject_wkb_polygons(values, WGS84, LAMBERT93)
    assert res.handled.tolist() == [True, True, True, True] + [False] * 6
    reasons = [None, "missing geometry", "empty geometry", "NaN coordinates"]
    assert res.problems[:4].tolist() == reasons
    assert res.ewkb[0] is not None and all(e is None for e in res.ewkb[1:])


def test_extent_is_checked_before_the_transformation() -> None:
    seen = []
    wkb = shapely.to_wkb(np.array([shapely.box(650000, 6860000, 650010, 6860010)]), byte_order=1)
    reproject_wkb_polygons(wkb, WGS84, LAMBERT93, check_extent=seen.append)
    assert seen == [(650000.0, 6860000.0, 650010.0, 6860010.0)]


def test_arrow_input_gives_the_same_ewkb_as_bytes_objects() -> None:
    # GDAL's Arrow stream: a chunked, possibly sliced binary column with nulls.
    frame = gpd.read_file(f"/vsigzip/{REAL[0]}", engine="pyogrio")
    wkb = shapely.to_wkb(frame.geometry.to_numpy()[:500], byte_order=1).astype(object)
    wkb[[3, 70]] = None
    wkb[5] = wkb[5][:-8]  # truncated: left to the shapely path
    expected = reproject_wkb_polygons(wkb, frame.crs, LAMBERT93)
    whole = pa.array(wkb, type=pa.binary())
    chunked = pa.chunked_array([whole.slice(0, 200), whole.slice(200)])
    for arrow in (whole, chunked, pa.array(wkb, type=pa.large_binary())):
        res = reproject_wkb_polygons(arrow, frame.crs, LAMBERT93)
        assert isinstance(res.ewkb, pa.Array)
        assert res.ewkb.to_pylist() == expected.ewkb.tolist()
        assert (res.handled == expected.handled).all()
        assert res.problems.tolist() == expected.problems.tolist()
    sliced = reproject_wkb_polygons(whole.slice(100, 50), frame.crs, LAMBERT93)
    assert sliced.ewkb.to_pylist() == expected.ewkb[100:150].tolist()


def _polygon_wkb(*rings: list[tuple[float, float]]) -> bytes:
    """Little-endian WKB of a Polygon written by hand, as GDAL writes it: GEOS cannot build
    rings whose end points are NaN (NaN != NaN, so never "closed")."""
    body = struct.pack("<BII", 1, 3, len(rings))
    for ring in rings:
        body += struct.pack(f"<I{2 * len(ring)}d", len(ring), *(v for xy in ring for v in xy))
    return body


NAN = float("nan")
SQUARE = [(5.98, 47.3), (5.99, 47.3), (5.99, 47.31), (5.98, 47.31), (5.98, 47.3)]
HOLE = [(5.982, 47.302), (5.984, 47.302), (5.984, 47.304), (5.982, 47.302)]
NAN_RINGS = {
    "x of the end points": [[(NAN, 47.3), *SQUARE[1:-1], (NAN, 47.3)]],
    "both coordinates of the end points": [[(NAN, NAN), *SQUARE[1:-1], (NAN, NAN)]],
    "every point": [[(NAN, NAN)] * 5],
    "end points of a hole": [SQUARE, [(NAN, 47.302), *HOLE[1:-1], (NAN, 47.302)]],
    "first point only (ring not closed)": [[(NAN, 47.3), *SQUARE[1:]]],
    "end points of a 3-point ring": [[(NAN, 47.3), (5.99, 47.3), (NAN, 47.3)]],
}


@pytest.mark.parametrize("rings", NAN_RINGS.values(), ids=NAN_RINGS.keys())
def test_nan_ring_end_points_get_their_reason_from_the_bytes(rings: list) -> None:
    wkb = _polygon_wkb(*rings)
    with pytest.raises(shapely.errors.GEOSException, match="closed|LinearRing"):
        shapely.from_wkb(wkb)
    good = shapely.to_wkb(shapely.box(5.98, 47.3, 5.99, 47.31), byte_order=1)
    multi = struct.pack("<BII", 1, 6, 2) + good + wkb
    res = reproject_wkb_polygons(np.array([good, wkb, multi], dtype=object), WGS84, LAMBERT93)
    assert res.handled.all()
    assert res.problems.tolist() == [None, "NaN coordinates", "NaN coordinates"]
    assert res.ewkb[0] is not None and res.ewkb[1] is None and res.ewkb[2] is None
    assert wkb_problems(np.array([wkb], dtype=object)).tolist() == ["NaN coordinates"]
    # The quarantine's raw record keeps every coordinate, NaN written as GEOS writes it.
    text = polygon_wkt(wkb)
    assert text is not None and text.startswith("POLYGON ((") and "NaN" in text
    assert (
        polygon_wkt(multi)
        == f"MULTIPOLYGON ({shapely.box(5.98, 47.3, 5.99, 47.31).wkt[8:]}, {text[8:]})"
    )


def test_polygon_wkt_matches_geos_and_refuses_what_it_does_not_read() -> None:
    poly = shapely.from_wkt("POLYGON ((0 0, 10 0, 10 10, 0 0), (1 1, 2 1, 2 2, 1 1))")
    wkb = shapely.to_wkb(poly, byte_order=1)
    assert shapely.equals_exact(shapely.from_wkt(polygon_wkt(wkb)), poly, 0)
    assert polygon_wkt(wkb[:-8]) is None  # truncated
    assert polygon_wkt(wkb + b"\0") is None  # trailing bytes
    assert polygon_wkt(shapely.to_wkb(poly, byte_order=0)) is None  # big-endian
    assert polygon_wkt(shapely.to_wkb(shapely.Point(1, 2), byte_order=1)) is None


INF = float("inf")
INFINITE_RINGS = {
    "x of the end points": [[(INF, 47.3), *SQUARE[1:-1], (INF, 47.3)]],
    "-Infinity y of a middle point": [[SQUARE[0], (5.99, -INF), *SQUARE[2:]]],
    "first point only (ring not closed)": [[(INF, 47.3), *SQUARE[1:]]],
    "a point of a hole": [SQUARE, [HOLE[0], (INF, INF), *HOLE[2:]]],
    "Infinity and -Infinity in one point (NaN sum)": [[SQUARE[0], (INF, -INF), *SQUARE[2:]]],
}


@pytest.mark.parametrize("rings", INFINITE_RINGS.values(), ids=INFINITE_RINGS.keys())
def test_infinite_coordinates_get_their_reason_and_stay_out_of_the_extent(rings: list) -> None:
    wkb = _polygon_wkb(*rings)
    good = shapely.to_wkb(shapely.box(5.98, 47.3, 5.99, 47.31), byte_order=1)
    multi = struct.pack("<BII", 1, 6, 2) + good + wkb
    extents: list[tuple[float, ...]] = []
    res = reproject_wkb_polygons(
        np.array([good, wkb, multi], dtype=object), WGS84, LAMBERT93, check_extent=extents.append
    )
    assert res.handled.all()
    assert res.problems.tolist() == [None, "infinite coordinates", "infinite coordinates"]
    assert res.ewkb[0] is not None and res.ewkb[1] is None and res.ewkb[2] is None
    assert extents == [(5.98, 47.3, 5.99, 47.31)]  # the good polygon's only
    text = polygon_wkt(wkb)
    assert text is not None and "Infinity" in text
    # NaN wins over Infinity when a polygon has both.
    both = _polygon_wkb(rings[0], [(NAN, 47.302), *HOLE[1:-1], (NAN, 47.302)])
    assert wkb_problems(np.array([both], dtype=object)).tolist() == ["NaN coordinates"]


def test_shapely_paths_name_infinity_and_leave_it_out_of_the_bounds_check() -> None:
    points = np.array([shapely.Point(INF, 45), shapely.Point(4.8, -INF), shapely.Point(4.8, 45)])
    assert clean_points(points).problems.tolist() == [
        "infinite coordinates",
        "infinite coordinates",
        None,
    ]
    polygon = shapely.Polygon([(INF, 45), (4.8, 45), (4.8, 45.1), (INF, 45)])
    assert clean_polygons(np.array([polygon])).problems.tolist() == ["infinite coordinates"]
    check_geographic_bounds(np.append(points, polygon), WGS84, "f.geojson")  # no error
    lambert = np.append(points, shapely.Point(926000, 6680000))
    with pytest.raises(CrsError, match=r"f\.geojson: coordinates up to \(926000, 6680000\)"):
        check_geographic_bounds(lambert, WGS84, "f.geojson")


WKT_PROBLEMS = {
    "POLYGON ((NaN 45, 4.8 45, 4.8 45.1, NaN 45))": "NaN coordinates",
    "POLYGON ((4.8 nan, 4.8 45, 4.9 45.1, 4.7 45))": "NaN coordinates",
    "POLYGON ((1 2, 3": "unreadable WKT: ParseException: Expected number but encountered end "
    "of stream",
    "POLYGON ((NaN 45, 3": "unreadable WKT: ParseException: Expected number but encountered end "
    "of stream",
}


@pytest.mark.parametrize(("wkt", "reason"), WKT_PROBLEMS.items())
def test_wkt_problem_names_nan_or_gives_geos_message(wkt: str, reason: str) -> None:
    with pytest.raises(shapely.errors.GEOSException):
        shapely.from_wkt(wkt)
    assert wkt_problem(wkt) == reason
