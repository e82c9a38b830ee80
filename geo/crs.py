"""The coordinate reference systems the API speaks (OGC API Features Part 2).

Storage is always EPSG:2154; these are the CRSs a client may ask for (``crs``) or give a bbox or a
filter in (``bbox-crs``, ``filter-crs``).
"""

from __future__ import annotations

from dataclasses import dataclass

from geo.errors import CrsError

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"

# Area of use of EPSG:2154 (metropolitan France and Corsica), lon/lat degrees: envelopes are
# clipped to it before being projected, so a world bbox never reaches a Lambert-93 singularity.
LAMBERT93_AREA_LONLAT = (-9.86, 41.15, 10.38, 51.56)


@dataclass(frozen=True)
class Crs:
    """A supported CRS.

    Attributes:
        uri: the OGC URI clients send and receive.
        srid: the PostGIS SRID.
        lat_lon: True when the CRS's axis order is latitude first (EPSG:4326), so coordinates are
            swapped on the way in and out.
        geographic: degrees (bbox checked against -180..180, -90..90) rather than metres.
        decimals: coordinate precision in output (about 1 cm).
        bounds: the valid range (xmin, ymin, xmax, ymax) in the CRS's own axis order.
    """

    uri: str
    srid: int
    lat_lon: bool
    geographic: bool
    decimals: int
    bounds: tuple[float, float, float, float]


SUPPORTED: dict[str, Crs] = {
    c.uri: c
    for c in (
        Crs(CRS84_URI, 4326, False, True, 7, (-180.0, -90.0, 180.0, 90.0)),
        Crs(
            "http://www.opengis.net/def/crs/EPSG/0/4326",
            4326,
            True,
            True,
            7,
            (-90.0, -180.0, 90.0, 180.0),
        ),
        Crs(
            "http://www.opengis.net/def/crs/EPSG/0/2154",
            2154,
            False,
            False,
            2,
            (-3_000_000.0, 3_000_000.0, 4_000_000.0, 9_000_000.0),
        ),
        Crs(
            "http://www.opengis.net/def/crs/EPSG/0/3857",
            3857,
            False,
            False,
            2,
            (-20_037_508.35, -20_048_966.11, 20_037_508.35, 20_048_966.11),
        ),
    )
}

_ALIASES = {
    "crs84": CRS84_URI,
    "ogc:crs84": CRS84_URI,
    "urn:ogc:def:crs:ogc:1.3:crs84": CRS84_URI,
    "epsg:4326": "http://www.opengis.net/def/crs/EPSG/0/4326",
    "urn:ogc:def:crs:epsg::4326": "http://www.opengis.net/def/crs/EPSG/0/4326",
    "epsg:2154": "http://www.opengis.net/def/crs/EPSG/0/2154",
    "urn:ogc:def:crs:epsg::2154": "http://www.opengis.net/def/crs/EPSG/0/2154",
    "epsg:3857": "http://www.opengis.net/def/crs/EPSG/0/3857",
    "urn:ogc:def:crs:epsg::3857": "http://www.opengis.net/def/crs/EPSG/0/3857",
}


def parse_crs(value: str | None, parameter: str = "crs") -> Crs:
    """The supported CRS named by ``value`` (an OGC URI, ``EPSG:n`` or ``CRS84``); CRS84 if None.

    Raises:
        CrsError: the CRS is not one of the supported ones (the message lists them).

    Example:
        >>> parse_crs("EPSG:2154").srid
        2154
    """
    if value is None or value == "":
        return SUPPORTED[CRS84_URI]
    text = value.strip().strip("[]")
    uri = _ALIASES.get(text.lower(), text)
    uri = uri.replace("https://", "http://", 1)
    if uri not in SUPPORTED:
        raise CrsError(
            f"{parameter}={value!r} is not supported; use one of: {', '.join(SUPPORTED)}"
        )
    return SUPPORTED[uri]


def check_bbox(bbox: tuple[float, float, float, float], crs: Crs, parameter: str = "bbox") -> None:
    """Refuse an inverted or out-of-range bbox given in ``crs``'s axis order.

    Raises:
        CrsError: with the rule the bbox breaks.
    """
    a0, a1, b0, b1 = bbox
    if not (a0 <= b0 and a1 <= b1):
        raise CrsError(
            f"{parameter}={','.join(map(str, bbox))}: the lower corner must come first "
            "(minx,miny,maxx,maxy in the axis order of the bbox CRS)"
        )
    lo0, lo1, hi0, hi1 = crs.bounds
    if not (lo0 <= a0 and b0 <= hi0 and lo1 <= a1 and b1 <= hi1):
        raise CrsError(
            f"{parameter}={','.join(map(str, bbox))} is outside the valid range of {crs.uri} "
            f"({lo0},{lo1},{hi0},{hi1}); is the bbox in another CRS? set bbox-crs"
        )
