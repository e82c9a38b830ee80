"""PLU zoning (CNIG ``zone_urba``): zones with their CNIG fields and our class.

Fields: ``insee``, ``libelle``, ``libelong``, ``typezone`` (U/AUc/AUs/A/N), ``destdomi``,
``datappro``; optional ``idurba``/``idzone``. ``zone_class`` comes from
:func:`geo.zoning.classify_zone`. A load replaces the zoning of the communes it covers
(scope ``insee``): a revised PLU replaces the old one.

Zone id: ``<idurba>:<idzone>`` when the file has both; otherwise
``<insee>:<libelle>:<hash>``, the hash being that of the zone's geometry as published, so the
same file always gives the same ids (a reload changes nothing) and two zones with the same
label stay apart.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import shapely

from geo.zoning import classify_zone
from ingest.normalize import TableLoad, add_problem, code, finish, pick
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register
from ingest.tablespec import table_spec

PLU_ZONE = table_spec(
    table="plu_zone",
    key=("id",),
    columns=(
        "id",
        "insee",
        "libelle",
        "libelong",
        "typezone",
        "destdomi",
        "datappro",
        "zone_class",
    ),
    geometries=("geom",),
    required=("insee", "libelle", "typezone", "zone_class"),
    scope="insee",
)


def _geometry_hash(geom: object) -> str:
    if geom is None:
        return "nogeom"
    return hashlib.sha1(shapely.to_wkb(geom), usedforsecurity=False).hexdigest()[:12]


def _text(series: pd.Series) -> list[str | None]:
    return [None if pd.isna(v) or str(v).strip() == "" else str(v).strip() for v in series]


def prepare(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """CNIG ``zone_urba`` polygons to ``plu_zone`` rows, each with its class."""
    f, name = source.frame, str(source.path)
    frame = f[["_feature_index"]].copy()
    idurba = pick(f, "idurba", source=name, required=False)
    insee = pick(f, "insee", "code_insee", "insee_com", source=name, required=False)
    # CNIG idurba starts with the INSEE code of the commune ("74173_PLU_20170321").
    insee = insee.where(insee.notna(), idurba.astype("string").str[:5])
    frame["insee"] = code(insee, 5)
    frame["libelle"] = pick(f, "libelle", source=name)
    frame["libelong"] = pick(f, "libelong", source=name, required=False)
    frame["typezone"] = pick(f, "typezone", source=name)
    destdomi = pick(f, "destdomi", source=name, required=False)
    frame["destdomi"] = [v.zfill(2) if v and v.isdigit() else v for v in _text(destdomi)]
    frame["datappro"] = pick(f, "datappro", source=name, required=False)

    problems = np.full(len(frame), None, dtype=object)
    classes = [
        classify_zone(t, lib, d, lg)
        for t, lib, d, lg in zip(
            _text(frame["typezone"]),
            _text(frame["libelle"]),
            _text(frame["destdomi"]),
            _text(frame["libelong"]),
            strict=True,
        )
    ]
    frame["zone_class"] = classes
    unknown = np.array([c is None for c in classes]) & frame["typezone"].notna().to_numpy()
    add_problem(
        problems,
        unknown,
        np.array(
            [f"unknown typezone {t!r} (expected U, AUc, AUs, A or N)" for t in frame["typezone"]],
            dtype=object,
        ),
    )
    bad_insee = ~frame["insee"].map(lambda c: isinstance(c, str) and len(c) == 5).to_numpy(bool)
    add_problem(problems, bad_insee & frame["insee"].notna().to_numpy(), "bad INSEE code")

    geoms = np.asarray(f.geometry.to_numpy(), dtype=object)
    idzone = pick(f, "idzone", source=name, required=False)
    ids = []
    for urba, zone, com, lib, g in zip(
        _text(idurba), _text(idzone), frame["insee"], _text(frame["libelle"]), geoms, strict=True
    ):
        if urba and zone:
            ids.append(f"{urba}:{zone}")
        else:
            ids.append(f"{com}:{lib}:{_geometry_hash(g)}")
    frame["id"] = ids
    frame["geom"] = geoms
    return [finish(PLU_ZONE, frame, f, source.crs, name, problems)]


register(
    Layer(
        "plu",
        "PLU zoning (CNIG zone_urba), classified activity/urban/to_urbanise/agricultural/natural",
        prepare,
        ("plu",),
    )
)
