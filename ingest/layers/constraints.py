"""Constraint polygons (protection, natural and technological risks, pollution) with a ``kind``.

The kind comes from ``--kind`` (a file of one kind), else from the publisher's attributes:
INPN ``type_zone`` (ZNIEFF1/ZNIEFF2/N2000_ZSC/N2000_ZPS...), Directive Inondation ``scenario``
(01For/02Moy/04Fai), a ``kind`` column, or the ADEME polluted-site layout. Points (ADEME polluted
sites) become the disc of their declared surface (``Surface_site_m2``), 50 m radius when unknown:
the constraint is approximate and says so in ``attributes`` (``approximate``, ``buffer_m``).

Rows are keyed by kind, source id and a hash of the geometry, so re-loading a file changes
nothing; a load replaces the rows of the same file name (``source``) and leaves other files' rows.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import shapely

from geo.constraints import (
    FLOOD_SCENARIO_KINDS,
    KINDS,
    TYPE_ZONE_KINDS,
    disc_radius_m,
    kind_of,
)
from ingest.errors import LayoutError
from ingest.normalize import (
    TableLoad,
    add_problem,
    finish,
    has_columns,
    pick,
    to_lambert93,
)
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register
from ingest.tablespec import table_spec

CONSTRAINT = table_spec(
    table="constraint_zone",
    key=("id",),
    columns=("id", "kind", "name", "source", "attributes"),
    geometries=("geom",),
    required=("kind", "source"),
    scope="source",
)

_ID_COLUMNS = ("id_mnhn", "sitecode", "id_s_inond", "id", "code", "identifiant")
_NAME_COLUMNS = ("nom", "nom_site", "name", "scenario_lib", "libelle")


def _attributes(frame: pd.DataFrame) -> list[dict[str, object]]:
    """The publisher's attributes of each row as JSON-ready dicts (nulls dropped)."""
    cols = [c for c in frame.columns if c != "geometry" and not str(c).startswith("_")]
    out: list[dict[str, object]] = []
    for rec in frame[cols].to_dict("records"):
        clean: dict[str, object] = {}
        for k, v in rec.items():
            if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
                continue
            clean[str(k)] = (
                v.item()
                if isinstance(v, np.generic)
                else (v if isinstance(v, (int, float, bool, str)) else str(v))
            )
        out.append(clean)
    return out


def _kinds(f: pd.DataFrame, options: IngestOptions, name: str) -> tuple[pd.Series, str]:
    """The kind of every row and how it was found."""
    if options.kind:
        if options.kind not in KINDS:
            raise LayoutError(
                f"--kind {options.kind!r} is unknown; expected one of: {', '.join(sorted(KINDS))}"
            )
        return pd.Series(options.kind, index=f.index, dtype=object), "option"
    if has_columns(f, "kind"):
        return pick(f, "kind", source=name).map(lambda v: v if v in KINDS else None), "kind"
    if has_columns(f, "type_zone"):
        return pick(f, "type_zone", source=name).map(
            lambda v: kind_of(v, TYPE_ZONE_KINDS)
        ), "type_zone"
    if has_columns(f, "scenario"):
        return pick(f, "scenario", source=name).map(
            lambda v: kind_of(v, FLOOD_SCENARIO_KINDS)
        ), "scenario"
    if has_columns(f, "surface_site_m2", "nom_site"):
        return pd.Series("polluted_site", index=f.index, dtype=object), "ademe"
    raise LayoutError(
        f"{name}: cannot tell the constraint kind: no column kind / type_zone / scenario; "
        f"pass --kind ({', '.join(sorted(KINDS))})"
    )


def _geometry_ids(geoms: np.ndarray) -> list[str]:
    """A short hash of each geometry (as read), stable across re-runs of the same file."""
    wkb = shapely.to_wkb(geoms)
    return ["" if b is None else hashlib.sha1(b).hexdigest()[:12] for b in wkb]


def prepare(source: Source, options: IngestOptions) -> list[TableLoad]:
    """Map a constraint file to ``constraint_zone`` rows (see the module docstring)."""
    f, name = source.frame, str(source.path)
    if not source.has_geometry:
        raise LayoutError(f"{name}: a constraint layer needs geometries (polygons or points)")
    kinds, found_by = _kinds(f, options, name)
    problems = np.full(len(f), None, dtype=object)
    raw_kind = {
        "type_zone": pick(f, "type_zone", source=name, required=False),
        "scenario": pick(f, "scenario", source=name, required=False),
        "kind": pick(f, "kind", source=name, required=False),
    }.get(found_by)
    if raw_kind is not None:
        unknown = kinds.isna().to_numpy() & raw_kind.notna().to_numpy()
        reasons = np.array(
            [f"unknown constraint kind {v!r} in {found_by}" for v in raw_kind], dtype=object
        )
        add_problem(problems, unknown, reasons)
    geoms = np.asarray(f.geometry.to_numpy(), dtype=object)
    attributes = _attributes(f)
    crs = source.crs
    points = shapely.get_type_id(geoms) == 0
    if points.any():
        # Buffer in metres: reproject the points to Lambert-93 first, then the whole column is 2154.
        geoms = to_lambert93(geoms, crs, name)
        crs = None
        surface = pd.to_numeric(
            pick(f, "surface_site_m2", "surface_m2", source=name, required=False), errors="coerce"
        ).to_numpy(dtype=float)
        for pos in np.flatnonzero(points):
            radius = disc_radius_m(surface[pos])
            geoms[pos] = shapely.buffer(geoms[pos], radius, quad_segs=16)
            attributes[pos] = {**attributes[pos], "approximate": True, "buffer_m": round(radius, 1)}
    src_id = pick(f, *_ID_COLUMNS, source=name, required=False)
    hashes = _geometry_ids(np.asarray(f.geometry.to_numpy(), dtype=object))
    frame = f[["_feature_index"]].copy()
    frame["kind"] = kinds.to_numpy()
    frame["id"] = [
        None if k is None else f"{k}:{'' if pd.isna(s) else s}:{h}"
        for k, s, h in zip(frame["kind"], src_id, hashes, strict=True)
    ]
    frame["name"] = pick(f, *_NAME_COLUMNS, source=name, required=False).to_numpy()
    frame["source"] = source.path.name
    frame["attributes"] = attributes
    frame["geom"] = geoms
    return [finish(CONSTRAINT, frame, f, crs, name, problems)]


register(
    Layer(
        "constraints",
        "Constraint zones (Natura 2000, ZNIEFF, flood scenarios, polluted sites...) with a kind",
        prepare,
        ("constraints",),
    )
)
