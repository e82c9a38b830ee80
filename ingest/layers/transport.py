"""Transport: rail lines (``rail_line``) and freight ports (``freight_port``), as published.

- **Rail lines** (SNCF Réseau "Réseau ferré national", e.g. the simplified RFN GeoJSON: ``nom``
  and a LineString per line; ``nom``/``name``/``libelle`` accepted): stored as Lambert-93
  MultiLineStrings. The file has no line id: a row's id is a hash of its geometry as read, so
  re-loading the same file changes nothing, and two features with the same geometry are one
  duplicate (the second is quarantined).
- **Freight ports** (points: ``name``/``nom``, ``operator``, ``cargo``, ``osmId``/``id``): the
  id is ``osm:<osmId>`` when the file gives one, else (no id, or ``0`` as the published file
  writes for its hand-placed ports) ``pt:`` and a hash of the point.

Either layer accepts what the producer publishes (the issue 15 text: "rail lines, ITE sidings,
ports, interchanges as points or lines"): a rail file of points, or a port file of lines, is a
layout error naming the geometry type found. A load replaces the rows of the same file name
(``source``) and leaves other files' rows alone.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import shapely

from ingest.errors import LayoutError
from ingest.normalize import TableLoad, finish, pick
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register
from ingest.tablespec import table_spec

RAIL_LINE = table_spec(
    table="rail_line",
    key=("id",),
    columns=("id", "nom", "source"),
    geometries=("geom",),
    required=("source",),
    scope="source",
)
FREIGHT_PORT = table_spec(
    table="freight_port",
    key=("id",),
    columns=("id", "nom", "operator", "cargo", "source"),
    geometries=("geom",),
    required=("source",),
    scope="source",
)

_NAME_COLUMNS = ("nom", "name", "libelle", "nom_ligne", "lib_ligne")
_LINEAR = ("LineString", "MultiLineString")
_PUNCTUAL = ("Point", "MultiPoint")


def geometry_ids(geoms: np.ndarray, prefix: str) -> list[str | None]:
    """``prefix`` and a 16-hex hash of each geometry as read (None for a missing one).

    Example:
        >>> geometry_ids(np.array([shapely.Point(1, 2), None], dtype=object), "rfn:")
        ['rfn:46c1a6622b16a013', None]
    """
    wkb = shapely.to_wkb(geoms, byte_order=1)
    return [None if b is None else prefix + hashlib.sha1(b).hexdigest()[:16] for b in wkb]


def _check_kind(source: Source, expected: tuple[str, ...], layer: str) -> np.ndarray:
    """The file's geometries; LayoutError when some exist and none is of the layer's kind.

    A file of the wrong kind (ports given to the rail layer) is refused whole; a stray row of
    another type in a file of the right kind is quarantined by :func:`ingest.normalize.finish`.
    """
    name = str(source.path)
    if not source.has_geometry:
        raise LayoutError(f"{name}: the {layer} layer needs geometries")
    geoms = np.asarray(source.frame.geometry.to_numpy(), dtype=object)
    present = geoms[~shapely.is_missing(geoms)]
    types = sorted({g.geom_type for g in present})
    if types and not set(types) & set(expected):
        raise LayoutError(
            f"{name}: the {layer} layer reads {' or '.join(expected)} geometries; "
            f"this file has {', '.join(types)}"
        )
    return geoms


def _text(series: pd.Series) -> pd.Series:
    return series.map(lambda v: None if v is None or pd.isna(v) or not str(v).strip() else v)


def prepare_rail_lines(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """A rail network file (lines) to ``rail_line`` rows."""
    f, name = source.frame, str(source.path)
    geoms = _check_kind(source, _LINEAR, "rail_lines")
    frame = f[["_feature_index"]].copy()
    frame["id"] = geometry_ids(geoms, "rfn:")
    frame["nom"] = _text(pick(f, *_NAME_COLUMNS, source=name, required=False)).to_numpy()
    frame["source"] = source.path.name
    frame["geom"] = geoms
    return [finish(RAIL_LINE, frame, f, source.crs, name)]


def prepare_freight_ports(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """A freight port file (points) to ``freight_port`` rows."""
    f, name = source.frame, str(source.path)
    geoms = _check_kind(source, _PUNCTUAL, "freight_ports")
    osm = pick(f, "osmid", "osm_id", "id", source=name, required=False)
    hashed = geometry_ids(geoms, "pt:")
    frame = f[["_feature_index"]].copy()
    # osmId 0 marks a point added by hand, not an OpenStreetMap object: hashed like no id.
    given = pd.to_numeric(osm, errors="coerce").to_numpy(dtype=float)
    frame["id"] = [
        h if np.isnan(o) or o <= 0 else f"osm:{int(o)}" for o, h in zip(given, hashed, strict=True)
    ]
    frame["nom"] = _text(pick(f, *_NAME_COLUMNS, source=name, required=False)).to_numpy()
    frame["operator"] = _text(pick(f, "operator", "exploitant", source=name, required=False))
    frame["cargo"] = _text(pick(f, "cargo", "fret", source=name, required=False))
    frame["source"] = source.path.name
    frame["geom"] = geoms
    return [finish(FREIGHT_PORT, frame, f, source.crs, name)]


register(
    Layer(
        "rail_lines",
        "Rail lines (SNCF Réseau RFN, lines; nom): a load replaces the rows of its file",
        prepare_rail_lines,
        ("rail_lines",),
    )
)
register(
    Layer(
        "freight_ports",
        "Freight ports (points; name, operator, cargo, osmId): a load replaces its file's rows",
        prepare_freight_ports,
        ("freight_ports",),
    )
)
