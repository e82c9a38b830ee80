"""Business sites: the ANCT/DGE "sites clés en main" lists and generic site files.

Three layouts, told apart by their columns:

- the official ANCT/DGE CSV (``id_site``, ``insee_com``, ``lib_com``, ``maturite_site``, ...);
- the partial press list of the 2024 laureates (``id_press``, ``communes`` and ``insee_com``
  ``|``-separated, ``maturite_annoncee``, ``sources``);
- any CSV/GeoJSON/GeoPackage of sites with a point or polygon geometry, with CNIG SITE-ECO /
  TERRAIN-ECO names (``site_id``, ``site_nom``, ``site_surf_brute``, ``terr_cle_en_main``...)
  or plain ones (``id``, ``nom``, ``surface_ha``).

Location: a point is kept (precision ``point``); a polygon becomes the ``perimeter`` and the
point is a point on its surface (``polygon``); a site with neither sits at a point on the surface
of its commune (``commune``, computed in SQL from the ``commune`` table, so load communes first).
A site with no coordinates and no known commune is quarantined with the reason.
Columns that the ``site`` table has no place for are kept in ``attributes`` (jsonb).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from db.engine import read_sql
from db.site_parcels import REFRESH_SQL
from geo.geometry import WGS84
from ingest.errors import LayoutError
from ingest.jsonb import json_ready
from ingest.normalize import TableLoad, add_problem, finish, has_columns
from ingest.read import Source
from ingest.sources import IngestOptions, Layer, register
from ingest.tablespec import table_spec

SITE_COLUMNS = (
    "id",
    "nom",
    "programme",
    "insee",
    "insee_list",
    "lib_com",
    "surface_ha",
    "surface_dispo_ha",
    "maturite",
    "cle_en_main",
    "maitrise_fonciere",
    "pene",
    "friche",
    "prix_m2",
    "contact",
    "source_url",
    "attributes",
    "location_precision",
)

# A site without coordinates is placed at its commune; a polygon site at a point inside it.
_PLACE_SQL = """
UPDATE {stage} s SET geom = ST_PointOnSurface(s.perimeter)
WHERE s.geom IS NULL AND s.perimeter IS NOT NULL;
UPDATE {stage} s SET geom = ST_PointOnSurface(c.geom)
FROM commune c
WHERE s.geom IS NULL AND c.insee = s.insee;
"""


def site_parcel_sql(after: str) -> str:
    """Post-merge SQL filling ``site_parcel`` after a load of ``after`` (``sites`` or
    ``parcels``): the sites to recompute, then the rule the API's site writes run too
    (db/sql/site_parcel_refresh.sql says which parcels a site gets)."""
    return read_sql("ingest.sql", f"site_parcel_after_{after}.sql") + REFRESH_SQL


SITE = table_spec(
    table="site",
    key=("id",),
    columns=SITE_COLUMNS,
    geometries=("geom", "perimeter"),
    required=("nom", "location_precision"),
    optional_geometries=("geom", "perimeter"),
    post_stage_sql=_PLACE_SQL,
    post_merge_sql=site_parcel_sql("sites"),
    checks=(
        (
            "s.geom IS NULL",
            "'no coordinates and commune ' || coalesce(s.insee, '(none)') "
            "|| ' is not in the commune table: load communes before sites'",
        ),
    ),
)

# Publisher column names for each of our columns, most specific first (case-insensitive).
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id_site", "site_id", "id_press", "identifiant", "id"),
    "nom": ("nom_site", "site_nom", "lib_site", "nom", "libelle", "name"),
    "insee": ("insee_com", "site_comm_insee", "code_insee", "insee", "codgeo", "code_commune"),
    "lib_com": ("lib_com", "site_comm_nom", "communes", "nom_com", "commune", "libgeo"),
    "surface_ha": (
        "surface_ha",
        "site_surf_brute",
        "surface_totale_ha",
        "surface_totale",
        "surf_tot_ha",
        "superficie_ha",
        "surface_site_ha",
        "terr_surf_brute",
        "surface",
    ),
    "surface_dispo_ha": (
        "surface_dispo_ha",
        "site_surf_comm_dispo",
        "surface_disponible_ha",
        "surface_disponible",
        "surf_dispo_ha",
        "site_surf_utile",
    ),
    "maturite": ("maturite_site", "maturite", "maturite_annoncee", "site_etat", "etat"),
    "maitrise_fonciere": ("maitrise_fonciere", "terr_maitrise_fonc", "maitrise_fonc"),
    "pene": ("pene", "projet_envergure_nationale", "envergure_nationale"),
    "friche": ("friche", "site_friche", "is_friche", "recyclage_friche"),
    "prix_m2": ("prix_m2", "terr_m2_prix", "prix_eur_m2"),
    "contact": ("contact", "site_contact", "contact_email"),
    "source_url": ("source_url", "sources", "site_url", "url", "lien"),
    "programme": ("programme", "dispositif"),
}
CLE_EN_MAIN = ("cle_en_main", "terr_cle_en_main", "site_cle_en_main", "scem")
POINT_TEXT = ("site_geompoint", "geompoint")
POLYGON_TEXT = ("site_geomsurf", "geomsurf")
SCEM_PROGRAMME = "sites clés en main France 2030"
_INSEE_RE = re.compile(r"^(\d[\dAB]\d{3})$")
_TRUE = {"true", "t", "1", "oui", "yes", "vrai", "o", "y", "x"}
_FALSE = {"false", "f", "0", "non", "no", "faux", "n", ""}


def layout_of(frame: pd.DataFrame) -> str:
    """``scem`` (official ANCT/DGE list), ``press`` (partial press list) or ``generic``."""
    if has_columns(frame, "id_press"):
        return "press"
    if has_columns(frame, "id_site", "insee_com") or has_columns(frame, "maturite_site"):
        return "scem"
    return "generic"


def _column(frame: pd.DataFrame, names: tuple[str, ...]) -> str | None:
    lower = {str(c).lower(): str(c) for c in frame.columns}
    return next((lower[n] for n in names if n in lower), None)


def _flag(value: object) -> object:
    """Yes/no text (oui, non, 1, x, true...) as a boolean; None when blank or unreadable."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return None if text == "" else False
    return None


def _split_codes(value: object) -> list[str]:
    """INSEE codes of a cell (``"64410|64418"``), zero-padded where a spreadsheet dropped it."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return []
    text = str(value)
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    parts = (c.strip() for c in re.split(r"[|;,]", text))
    return [c.zfill(5) if c.isdigit() else c for c in parts if c]


def _flags(series: pd.Series, col: str, problems: np.ndarray) -> pd.Series:
    """A yes/no column as nullable booleans; an unreadable value is a row problem."""
    values = series.map(_flag)
    unreadable = (
        values.isna() & ~series.isna() & (series.astype(str).str.strip() != "")
    ).to_numpy()
    add_problem(
        problems,
        unreadable,
        np.array([f"wrong type: {col} = {v!r} is not yes/no" for v in series], dtype=object),
    )
    return values.astype("boolean")


def _text_geometry(value: object, kind: str) -> shapely.Geometry | None:
    """A CNIG text geometry: ``"lon, lat"`` for points, GeoJSON text for surfaces (WGS84)."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        if kind == "point":
            lon, lat = (float(v) for v in value.replace(";", ",").split(",")[:2])
            return shapely.Point(lon, lat)
        return shapely.from_geojson(value)
    except (ValueError, shapely.errors.GEOSException):
        return None


def _geometries(source: Source) -> tuple[np.ndarray, np.ndarray, CRS | None]:
    """Point and polygon geometries of each row (or None) and the CRS they are in."""
    f = source.frame
    n = len(f)
    points = np.full(n, None, dtype=object)
    polygons = np.full(n, None, dtype=object)
    crs = source.crs
    if source.has_geometry:
        geoms = np.asarray(f.geometry.to_numpy(), dtype=object)
        types = shapely.get_type_id(geoms)
        is_point = np.isin(types, [0, 4])  # Point, MultiPoint (one point: repaired later)
        is_poly = np.isin(types, [3, 6, 7])  # Polygon, MultiPolygon, GeometryCollection
        points[is_point] = geoms[is_point]
        polygons[is_poly] = geoms[is_poly]
        return points, polygons, crs
    # CNIG SITE-ECO carries its geometries as text columns in WGS84.
    pt_col, poly_col = _column(f, POINT_TEXT), _column(f, POLYGON_TEXT)
    if pt_col or poly_col:
        if pt_col:
            points = np.array([_text_geometry(v, "point") for v in f[pt_col]], dtype=object)
        if poly_col:
            polygons = np.array([_text_geometry(v, "polygon") for v in f[poly_col]], dtype=object)
        return points, polygons, WGS84
    return points, polygons, None


def _attributes(f: pd.DataFrame, used: set[str]) -> list[dict[str, object] | None]:
    """Columns with no place in ``site``, per row, without blanks (kept as jsonb)."""
    extra = [
        c for c in f.columns if c not in used and not str(c).startswith("_") and c != "geometry"
    ]
    rows: list[dict[str, object] | None] = []
    for record in f[extra].to_dict("records"):
        kept = {}
        for k, v in record.items():
            if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
                continue
            if isinstance(v, str) and v == "":  # a list property is an array: no == ""
                continue
            # Non-finite numbers (GeoJSON's Infinity) become their token text: jsonb has none.
            kept[str(k)] = json_ready(v)
        rows.append(kept or None)
    return rows


def _communes(frame: pd.DataFrame, problems: np.ndarray) -> None:
    """The site's communes (in place): several in the press list ("64410|64418"), the first is
    the main one; a malformed code is a row problem."""
    codes = [_split_codes(v) for v in frame["insee"]] if "insee" in frame else [[]] * len(frame)
    frame["insee_list"] = [c or None for c in codes]
    frame["insee"] = [c[0] if c else None for c in codes]
    bad_code = np.array([any(not _INSEE_RE.match(x) for x in c) for c in codes])
    add_problem(
        problems,
        bad_code,
        np.array([f"bad INSEE code in {'|'.join(c)!r}" for c in codes], dtype=object),
    )
    if "lib_com" in frame:
        frame["lib_com"] = frame["lib_com"].map(
            lambda v: ", ".join(p.strip() for p in v.split("|")) if isinstance(v, str) else v
        )


def _turnkey_flags(
    f: pd.DataFrame, frame: pd.DataFrame, layout: str, problems: np.ndarray, used: set[str]
) -> None:
    """The flags (in place): turnkey for the SCEM lists, otherwise from CNIG
    ``terr_cle_en_main`` or similar; ``pene`` and ``friche`` as the file writes them."""
    cle = _column(f, CLE_EN_MAIN)
    quali = _column(f, ("site_quali_territoire",))
    if layout in ("scem", "press"):
        frame["cle_en_main"] = True
        frame["programme"] = frame.get("programme", pd.Series(SCEM_PROGRAMME, index=frame.index))
        frame["programme"] = frame["programme"].fillna(SCEM_PROGRAMME)
    elif cle is not None:
        frame["cle_en_main"] = _flags(f[cle], "cle_en_main", problems).fillna(False)
        used.add(cle)
    elif quali is not None:
        # CNIG SITE-ECO: "Site clé en main" is one of the site's labels (site_quali_territoire).
        frame["cle_en_main"] = f[quali].map(
            lambda v: isinstance(v, str) and re.search(r"cl[ée]s? en main", v, re.I) is not None
        )
    for col in ("pene", "friche"):
        if col in frame:
            frame[col] = _flags(frame[col], col, problems)
    if "pene" in frame:
        frame["pene"] = frame["pene"].fillna(False)


def prepare(source: Source, _options: IngestOptions) -> list[TableLoad]:
    """Map a site list to the ``site`` table (see the module docstring for the layouts)."""
    f, name = source.frame, str(source.path)
    layout = layout_of(f)
    frame = f[["_feature_index"]].copy()
    used: set[str] = {"_feature_index", "geometry"}
    for col, names in ALIASES.items():
        src = _column(f, names)
        if src is not None:
            frame[col] = f[src]
            used.add(src)
    if "id" not in frame:
        raise LayoutError(
            f"{name}: no site id column ({' / '.join(ALIASES['id'])}); columns are: "
            f"{', '.join(str(c) for c in f.columns if not str(c).startswith('_'))}"
        )
    problems = np.full(len(frame), None, dtype=object)
    _communes(frame, problems)
    _turnkey_flags(f, frame, layout, problems, used)

    points, polygons, crs = _geometries(source)
    used.update(c for c in (_column(f, POINT_TEXT), _column(f, POLYGON_TEXT)) if c)
    frame["geom"] = points
    frame["perimeter"] = polygons
    has_poly = ~shapely.is_missing(polygons)
    has_point = ~shapely.is_missing(points)
    frame["location_precision"] = np.where(
        has_poly, "polygon", np.where(has_point, "point", "commune")
    )
    no_place = ~has_poly & ~has_point & frame["insee"].isna().to_numpy()
    add_problem(problems, no_place, "no coordinates and no commune code: the site cannot be placed")

    # A site needs a name: the lists sometimes give only the commune.
    nom = frame["nom"] if "nom" in frame else pd.Series([None] * len(frame), index=frame.index)
    blank = nom.isna() | (nom.astype(str).str.strip() == "")
    label = "Site clé en main" if layout in ("scem", "press") else "Site"
    fallback = [
        f"{label} – {lc}" if isinstance(lc, str) and lc else f"{label} {i}"
        for lc, i in zip(
            frame.get("lib_com", pd.Series([None] * len(frame))), frame["id"], strict=True
        )
    ]
    frame["nom"] = np.where(blank.to_numpy(), fallback, nom.to_numpy(dtype=object))
    attributes = _attributes(f, used)
    for pos in np.flatnonzero(blank.to_numpy()):
        attributes[pos] = {**(attributes[pos] or {}), "nom_absent": True}
    frame["attributes"] = attributes
    return [finish(SITE, frame, f, crs, name, problems)]


register(
    Layer(
        "sites",
        "Business sites: ANCT/DGE sites clés en main CSV, press list, or a CSV/GeoJSON of sites",
        prepare,
        ("sites",),
    )
)
