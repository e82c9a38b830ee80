"""Buildings from commune-wide sources: Etalab cadastre ``batiments`` files and IGN BD TOPO.

EDIGEO sheets bring their own buildings with their parcels (:mod:`ingest.layers.parcels`).
This layer loads the sources that cover whole communes:

- **Etalab** ``cadastre-<insee>-batiments.json(.gz)`` (GeoJSON, EPSG:4326): ``type`` (``01``
  bâti dur, ``02`` bâti léger, stored as ``kind``), ``nom``, ``commune`` (INSEE), ``created``,
  ``updated``. Features carry no id in some editions, so every edition gets the same key:
  ``<commune>:<digest>``, the digest being the first 20 hex digits of BLAKE2b over the
  geometry as the file gives it (2D little-endian WKB, before reprojection). A building that
  has not moved keeps its key from one edition to the next; one redrawn is replaced. Two
  identical footprints in one commune are one building (the repeat is quarantined). A
  feature without commune is quarantined.
- **BD TOPO** ``BATIMENT`` layers (GeoPackage, Shapefile; Lambert-93): ``ID``
  (``BATIMENT0000000012345678``, kept as the key), ``NATURE`` (stored as ``kind``),
  ``USAGE1``, ``ETAT``... (the GeoPackage names ``cleabs``, ``nature``, ``etat_de_l_objet``
  are accepted too). They carry no commune: each building takes the loaded commune under its
  point on surface (``ingest/sql/building_locate.sql``), so load communes first; a building
  outside every loaded commune is quarantined. A building ``En projet`` is not built yet: it
  is quarantined, as no evidence of artificialised land.

Told apart by their columns: a ``commune`` column means Etalab, an ``ID``/``cleabs`` column
BD TOPO.

Scope of replacement: a file replaces the commune-wide buildings of the communes it covers —
those its loaded buildings lie in (Etalab: their ``commune``; BD TOPO: by location) —
whichever commune-wide file brought them, so one such source describes a commune at a time
(the last loaded). Buildings of EDIGEO sheets are never deleted here: only their sheet's
reload replaces them (``ingest/sql/building_commune_stage.sql``). A commune the file does
not reach keeps its buildings. A BD TOPO extract cut across a commune would make that
commune look complete: load whole communes (a département's delivery).

After the merge, ``parcel.built`` is recomputed by the rule EDIGEO sheets use
(``ingest/sql/parcel_built.sql``) for the parcels of the communes the file covers, and for
those its buildings (or the ones it removed) touch: true or false where a building layer now
covers the parcel, NULL (unknown) elsewhere. A parcels load into a covered commune runs the
same rule (``parcel_built_after_parcels.sql``), whatever the order of the two loads.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import shapely

from db.engine import read_sql
from ingest.errors import LayoutError
from ingest.normalize import (
    TableLoad,
    add_problem,
    arrow_column,
    code,
    finish,
    has_columns,
    objects,
    pick,
)
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register
from ingest.tablespec import table_spec

_INSEE_RE = re.compile(r"^\d[\dAB]\d{3}$")
# Hex digits of the geometry digest in an Etalab building key (80 bits: no collision to fear
# among the buildings of one commune).
DIGEST_HEX = 20
# BD TOPO ``ETAT`` of a building that does not stand yet.
PLANNED = "En projet"


def parcel_built_sql(after: str) -> str:
    """Post-merge SQL setting ``parcel.built`` after a load of ``after`` (``sheet``,
    ``buildings`` or ``parcels``): the parcels to recompute, then the one rule every path
    runs (``ingest/sql/parcel_built.sql``)."""
    return read_sql("ingest.sql", f"parcel_built_after_{after}.sql") + read_sql(
        "ingest.sql", "parcel_built.sql"
    )


_COMMUNE_STAGE_SQL = read_sql("ingest.sql", "building_commune_stage.sql")

BUILDING_ETALAB = table_spec(
    table="building",
    key=("id",),
    columns=("id", "insee", "kind"),
    geometries=("geom",),
    required=("insee",),
    scope="insee",
    post_stage_sql=_COMMUNE_STAGE_SQL,
    post_merge_sql=parcel_built_sql("buildings"),
)

BUILDING_BDTOPO = replace(
    BUILDING_ETALAB,
    required=(),  # the commune is found in SQL, then checked there
    post_stage_sql=read_sql("ingest.sql", "building_locate.sql") + _COMMUNE_STAGE_SQL,
    checks=(
        (
            "s.insee IS NULL",
            "'no loaded commune under this building (point on surface '"
            " || round(ST_X(ST_PointOnSurface(s.geom))) || ' '"
            " || round(ST_Y(ST_PointOnSurface(s.geom))) || ' in EPSG:2154): load the communes"
            " the file covers first'",
        ),
    ),
)


def geometry_digests(values: pd.Series) -> np.ndarray:
    """A digest per geometry (None where there is none): BLAKE2b of its 2D little-endian WKB.

    The same whether the file was read whole (shapely objects) or in batches (WKB bytes);
    bytes GEOS cannot read are digested as they are (the row is quarantined for its geometry).

    Example:
        >>> square = shapely.box(0, 0, 1, 1)
        >>> geometry_digests(pd.Series([square, None]))[0] == geometry_digests(
        ...     pd.Series([shapely.to_wkb(square, byte_order=1)], dtype=object))[0]
        True
    """
    if isinstance(values.dtype, pd.ArrowDtype):
        raw = objects(arrow_column(values))
    else:
        raw = np.asarray(values.to_numpy(dtype=object), dtype=object)
    shapes = shapely.is_geometry(raw)
    geoms = raw.copy()
    given = ~shapes & (raw != None)  # noqa: E711 - elementwise on an object array
    geoms[given] = shapely.from_wkb(raw[given], on_invalid="fix")
    geoms[~shapes & ~given] = None
    wkb = shapely.to_wkb(geoms, output_dimension=2, byte_order=1)
    unreadable = given & shapely.is_missing(geoms)
    wkb[unreadable] = raw[unreadable]
    return np.array(
        [
            None if w is None else hashlib.blake2b(w, digest_size=DIGEST_HEX // 2).hexdigest()
            for w in wkb
        ],
        dtype=object,
    )


def _no_digest(problems: np.ndarray, digests: np.ndarray) -> None:
    # Without geometry there is no key: say why, not "missing id".
    add_problem(problems, digests == None, "missing geometry")  # noqa: E711


def prepare_etalab(source: Source) -> TableLoad:
    """Etalab ``cadastre-<insee>-batiments`` features to ``building`` rows (scope: communes)."""
    f, name = source.frame, str(source.path)
    frame = f[["_feature_index"]].copy()
    commune = code(pick(f, "commune", source=name), 5)
    problems = np.full(len(frame), None, dtype=object)
    missing = commune.isna().to_numpy(dtype=bool)
    add_problem(problems, missing, "missing commune (the INSEE code of the building's commune)")
    text = commune.astype("string")
    wrong = ~text.str.fullmatch(_INSEE_RE.pattern).fillna(True).to_numpy(dtype=bool)
    values = commune.to_numpy(dtype=object)
    reasons = np.full(len(frame), None, dtype=object)
    reasons[wrong] = [f"commune {v!r} is not an INSEE code" for v in values[wrong]]
    add_problem(problems, wrong, reasons)
    digests = geometry_digests(f.geometry)
    _no_digest(problems, digests)
    ok = ~missing & (digests != None)  # noqa: E711
    keys = np.full(len(frame), None, dtype=object)
    keys[ok] = [f"{c}:{d}" for c, d in zip(values[ok], digests[ok], strict=True)]
    frame["id"] = keys
    frame["insee"] = commune.to_numpy(dtype=object)
    frame["kind"] = pick(f, "type", source=name, required=False).to_numpy(dtype=object)
    frame["geom"] = f.geometry.array
    return finish(BUILDING_ETALAB, frame, f, source.crs, name, problems)


def prepare_bdtopo(source: Source) -> TableLoad:
    """BD TOPO ``BATIMENT`` features to ``building`` rows; communes are found in SQL."""
    f, name = source.frame, str(source.path)
    frame = f[["_feature_index"]].copy()
    frame["id"] = pick(f, "ID", "cleabs", source=name).to_numpy(dtype=object)
    # Kept as a column (all NULL here) so that staging has it for building_locate.sql.
    frame["insee"] = np.full(len(frame), None, dtype=object)
    frame["kind"] = pick(f, "NATURE", source=name, required=False).to_numpy(dtype=object)
    problems = np.full(len(frame), None, dtype=object)
    state = pick(f, "ETAT", "etat_de_l_objet", source=name, required=False)
    planned = (state.astype("string").str.strip() == PLANNED).fillna(False).to_numpy(dtype=bool)
    add_problem(
        problems, planned, f"ETAT '{PLANNED}': a planned building is no evidence of built land"
    )
    frame["geom"] = f.geometry.array
    return finish(BUILDING_BDTOPO, frame, f, source.crs, name, problems)


def prepare(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """An Etalab batiments file or a BD TOPO BATIMENT layer, told apart by their columns.

    Raises:
        LayoutError: the file has neither a ``commune`` nor an ``ID``/``cleabs`` column.
    """
    f = source.frame
    if has_columns(f, "commune"):
        return [prepare_etalab(source)]
    if has_columns(f, "ID") or has_columns(f, "cleabs"):
        return [prepare_bdtopo(source)]
    columns = ", ".join(str(c) for c in f.columns if not str(c).startswith("_"))
    raise LayoutError(
        f"{source.path}: not a buildings file: expected an Etalab batiments file (commune, type)"
        f" or a BD TOPO BATIMENT layer (ID or cleabs, NATURE); columns are: {columns}"
    )


register(
    Layer(
        "buildings",
        "Building footprints: Etalab cadastre-<insee>-batiments.json(.gz) or a BD TOPO BATIMENT"
        " layer (replaces the commune-wide buildings of the communes it covers, then sets"
        " parcel.built there)",
        prepare,
        ("buildings", "parcels"),  # parcel.built changes with them
        streamable=True,  # feature by feature; communes are found in SQL
    )
)
