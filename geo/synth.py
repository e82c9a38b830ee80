"""Synthetic cadastral parcels for benchmarks: Voronoi cells inside real commune polygons.

The parcels tile each chosen commune (clipped to its boundary), carry Etalab-format properties
(``id``, ``commune``, ``prefixe``, ``section``, ``numero``, ``contenance``) and are written in
EPSG:4326 with 7 decimals, as the Etalab cadastre publishes them. Everything derives from one
seed, so a given ``(communes, n, seed)`` always yields the same file.
"""

from __future__ import annotations

import gzip
import shutil
import string
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from geo.geometry import LAMBERT93, WGS84, reproject

MEAN_PARCEL_AREA_M2 = 5_000.0  # about the French average outside dense cities (0.5 ha)
PARCELS_PER_SECTION = 500
ETALAB_DECIMALS = 7  # Etalab GeoJSON coordinates: 7 decimals (about 1 cm)
DEFECT_KINDS = ("duplicate id", "self-intersection", "missing geometry")

_LETTERS = string.ascii_uppercase


def _section_code(index: np.ndarray) -> np.ndarray:
    """Two-letter section codes: 0 -> 'AA', 1 -> 'AB', ... 675 -> 'ZZ'."""
    first = np.array(list(_LETTERS))[(index // 26) % 26]
    second = np.array(list(_LETTERS))[index % 26]
    return np.char.add(first, second)


def _points_inside(commune: shapely.Geometry, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` uniform random points inside ``commune`` (rejection sampling on its bbox)."""
    xmin, ymin, xmax, ymax = commune.bounds
    shapely.prepare(commune)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    found = 0
    while found < count:
        batch = max(64, 2 * (count - found))
        x = rng.uniform(xmin, xmax, batch)
        y = rng.uniform(ymin, ymax, batch)
        inside = shapely.contains_xy(commune, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
        found += int(inside.sum())
    return np.column_stack([np.concatenate(xs)[:count], np.concatenate(ys)[:count]])


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep the polygonal parts of a clip result (a cell may touch the boundary along a line)."""
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def _commune_cells(commune: shapely.Geometry, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` Voronoi cells tiling ``commune`` (EPSG:2154), clipped to its boundary."""
    if count == 1:
        return np.array([commune], dtype=object)
    seeds = shapely.multipoints(_points_inside(commune, count, rng))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=commune))
    # Clipping is the costly step: only cells that cross the boundary need it.
    inside = shapely.contains_properly(commune, cells)
    clipped = cells.copy()
    if (~inside).any():
        clipped[~inside] = shapely.intersection(cells[~inside], commune)
    clipped = clipped[~shapely.is_empty(clipped)]
    return np.array([_polygonal(g) for g in clipped], dtype=object)


def _round_coordinates(geoms: np.ndarray, decimals: int) -> np.ndarray:
    rounded: np.ndarray = shapely.transform(geoms, lambda xy: np.round(xy, decimals))
    return rounded


def _inject_defects(frame: gpd.GeoDataFrame, share: float, rng: np.random.Generator) -> None:
    """Spoil ``share`` of the rows, in turn: a repeated id, a bow-tie, a missing geometry."""
    count = int(round(share * len(frame)))
    if count == 0:
        return
    rows = np.sort(
        rng.choice(np.arange(1, len(frame)), size=min(count, len(frame) - 1), replace=False)
    )
    geoms = frame.geometry.to_numpy().copy()
    ids = frame["id"].to_numpy().copy()
    for i, row in enumerate(rows):
        kind = DEFECT_KINDS[i % len(DEFECT_KINDS)]
        if kind == "duplicate id":
            ids[row] = ids[row - 1]
        elif kind == "self-intersection":
            x0, y0, x1, y1 = geoms[row].bounds
            geoms[row] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1), (x0, y0)])
        else:
            geoms[row] = None
    frame["id"] = ids
    frame.geometry = gpd.GeoSeries(geoms, crs=frame.crs, index=frame.index)


def _parcel_counts(
    polygons: np.ndarray, n: int, mean_area_m2: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The communes to fill, in a seeded random order, and how many parcels each gets: about
    its area (m², EPSG:2154) over ``mean_area_m2``, at least one, ``n`` in all."""
    usable = ~shapely.is_empty(polygons) & (shapely.area(polygons) > 0)
    order = rng.permutation(np.flatnonzero(usable))
    capacity = np.maximum(1, np.round(shapely.area(polygons) / mean_area_m2)).astype(int)
    chosen = np.cumsum(capacity[order])
    last = int(np.searchsorted(chosen, n))
    if last >= len(order):
        raise ValueError(
            f"the {len(order)} communes hold about {int(chosen[-1]) if len(chosen) else 0} "
            f"parcels of {mean_area_m2:.0f} m²; ask for fewer or pass a smaller mean area"
        )
    counts = capacity[order[: last + 1]].copy()
    counts[-1] -= int(chosen[last]) - n
    return order[: last + 1], counts


def synth_parcels(
    communes: gpd.GeoDataFrame,
    n: int,
    seed: int = 0,
    insee_column: str = "insee_com",
    mean_area_m2: float = MEAN_PARCEL_AREA_M2,
    defect_share: float = 0.0,
) -> gpd.GeoDataFrame:
    """``n`` synthetic parcels tiling randomly chosen communes, in Etalab cadastre format.

    Communes are taken in a seeded random order; each gets about ``area / mean_area_m2``
    parcels (at least one) until ``n`` are placed. Within a commune, parcels are Voronoi
    cells of uniform random seeds, clipped to the commune, numbered in sections of
    ``PARCELS_PER_SECTION``.

    Args:
        communes: commune polygons (any CRS) with their INSEE code in ``insee_column``.
        n: number of parcels.
        seed: seed of every random choice; the same seed gives the same parcels.
        insee_column: the column holding the 5-character INSEE code.
        mean_area_m2: target mean parcel area, in m² (EPSG:2154).
        defect_share: share of rows to spoil (repeated id, bow-tie, missing geometry) so a
            load exercises repair and quarantine; 0 for clean data.

    Returns:
        A GeoDataFrame in EPSG:4326 (7 decimals) with columns ``id`` (14 characters: INSEE 5 +
        prefixe ``000`` + section 2 letters + numero 4 digits), ``commune``, ``prefixe``,
        ``section``, ``numero``, ``contenance`` (area in m², integer) and ``geometry``.

    Raises:
        ValueError: ``n`` is not positive, or the communes cannot hold ``n`` parcels.

    Example:
        >>> square = shapely.box(840_000, 6_515_000, 842_000, 6_517_000)  # 4 km² near Lyon
        >>> communes = gpd.GeoDataFrame({"insee": ["69123"]}, geometry=[square], crs=2154)
        >>> parcels = synth_parcels(communes, 100, seed=1, insee_column="insee")
        >>> len(parcels), parcels["id"].str.len().unique().tolist(), parcels.crs.to_epsg()
        (100, [14], 4326)
    """
    if n <= 0:
        raise ValueError(f"n must be positive, not {n}")
    rng = np.random.default_rng(seed)
    polygons = reproject(communes.geometry.to_numpy(), communes.crs, LAMBERT93)
    codes = communes[insee_column].astype(str).to_numpy()
    picked, counts = _parcel_counts(polygons, n, mean_area_m2, rng)

    cells: list[np.ndarray] = []
    insee: list[np.ndarray] = []
    local: list[np.ndarray] = []
    for idx, count in zip(picked, counts, strict=True):
        got = _commune_cells(polygons[idx], int(count), rng)
        cells.append(got)
        insee.append(np.full(len(got), codes[idx], dtype=object))
        local.append(np.arange(len(got)))
    geoms = np.concatenate(cells)
    position = np.concatenate(local)
    section = _section_code(position // PARCELS_PER_SECTION)
    numero = np.char.zfill((position % PARCELS_PER_SECTION + 1).astype(str), 4)
    commune = np.concatenate(insee).astype(str)
    frame = gpd.GeoDataFrame(
        {
            "id": np.char.add(np.char.add(np.char.add(commune, "000"), section), numero).astype(
                object
            ),
            "commune": commune.astype(object),
            "prefixe": "000",
            "section": section.astype(object),
            "numero": numero.astype(object),
            "contenance": np.round(shapely.area(geoms)).astype("int64"),
        },
        geometry=_round_coordinates(reproject(geoms, LAMBERT93, WGS84), ETALAB_DECIMALS),
        crs=WGS84,
    )
    _inject_defects(frame, defect_share, rng)
    return frame


def write_parcels(frame: gpd.GeoDataFrame, path: Path) -> Path:
    """Write parcels as GeoPackage (``.gpkg``) or Etalab-style GeoJSON (``.geojson``/``.json``,
    optionally ``.gz``).

    Raises:
        ValueError: the extension is none of those.
    """
    path = Path(path)
    name = path.name.lower()
    path.parent.mkdir(parents=True, exist_ok=True)
    if name.endswith(".gpkg"):
        path.unlink(missing_ok=True)
        # GeoPackage 1.2: readable by older GDAL too (ogr2ogr 3.6 warns on 1.4).
        pyogrio.write_dataframe(
            frame, path, layer="parcelles", driver="GPKG", dataset_options={"VERSION": "1.2"}
        )
        return path
    if not name.endswith((".geojson", ".json", ".geojson.gz", ".json.gz")):
        raise ValueError(f"{path}: write .gpkg, .geojson, .json or the same with .gz")
    options = {"COORDINATE_PRECISION": ETALAB_DECIMALS, "RFC7946": "YES"}
    if not name.endswith(".gz"):
        pyogrio.write_dataframe(frame, path, driver="GeoJSON", layer_options=options)
        return path
    with tempfile.TemporaryDirectory(prefix="foncier-synth-") as tmp:
        plain = Path(tmp) / "parcelles.geojson"
        pyogrio.write_dataframe(frame, plain, driver="GeoJSON", layer_options=options)
        with plain.open("rb") as src, gzip.open(path, "wb", compresslevel=6) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
    return path


def read_communes(path: Path) -> gpd.GeoDataFrame:
    """Commune polygons from a GeoJSON(.gz) or GeoPackage file."""
    path = Path(path)
    vsi = f"/vsigzip/{path}" if path.name.lower().endswith(".gz") else str(path)
    return gpd.read_file(vsi, engine="pyogrio")
