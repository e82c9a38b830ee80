"""geo/synth.py: Etalab ids, parcels inside their commune, same seed gives the same file."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from geo.geometry import LAMBERT93
from geo.synth import read_communes, synth_parcels, write_parcels
from tests.conftest import SAMPLES

COMMUNES = read_communes(SAMPLES / "admin" / "communes_2022_sample.geojson.gz")


def test_ids_are_etalab_and_unique() -> None:
    parcels = synth_parcels(COMMUNES, 1500, seed=1)
    assert len(parcels) == 1500 and parcels.crs.to_epsg() == 4326
    ids = parcels["id"]
    assert (ids.str.len() == 14).all() and ids.is_unique
    assert (ids == parcels["commune"] + "000" + parcels["section"] + parcels["numero"]).all()
    assert ids.str.fullmatch(r"\d[\dAB]\d{3}000[A-Z]{2}\d{4}").all()
    assert (parcels["contenance"] > 0).all()
    assert set(parcels.geom_type) <= {"Polygon", "MultiPolygon"}


def test_parcels_tile_their_commune() -> None:
    parcels = synth_parcels(COMMUNES, 1500, seed=2).to_crs(LAMBERT93)
    communes = COMMUNES.to_crs(LAMBERT93).set_index("insee_com")
    for insee, group in parcels.groupby("commune"):
        commune = communes.geometry[insee]
        # Coordinates are rounded to 7 decimals (about 1 cm): allow a few centimetres.
        assert shapely.within(group.geometry.to_numpy(), commune.buffer(0.05)).all()
        complete = group.geometry.area.sum() / commune.area
        assert 0.99 < complete < 1.01 or len(group) < 5  # the last commune may be partly filled
    # contenance is the area in m2 (EPSG:2154) before rounding to 7 decimals: 0.01 % apart.
    assert np.allclose(parcels["contenance"], parcels.geometry.area, rtol=1e-4, atol=2)


def test_same_seed_same_parcels() -> None:
    one = synth_parcels(COMMUNES, 800, seed=7, defect_share=0.01)
    two = synth_parcels(COMMUNES, 800, seed=7, defect_share=0.01)
    other = synth_parcels(COMMUNES, 800, seed=8)
    assert one["id"].tolist() == two["id"].tolist()
    assert (
        shapely.equals_exact(one.geometry.to_numpy(), two.geometry.to_numpy()).sum()
        == 800 - one.geometry.isna().sum()
    )
    assert one["id"].tolist() != other["id"].tolist()
    # Spoiled rows: 8 of 800, in turn a repeated id, a bow-tie, a missing geometry.
    assert one["id"].duplicated().sum() == 3 and one.geometry.isna().sum() == 2
    assert (~shapely.is_valid(one.geometry.dropna().to_numpy())).sum() >= 3


def test_written_files_read_back(tmp_path: Path) -> None:
    parcels = synth_parcels(COMMUNES, 300, seed=4)
    for name in ("p.gpkg", "cadastre-synth-parcelles.json.gz"):
        path = write_parcels(parcels, tmp_path / name)
        vsi = f"/vsigzip/{path}" if name.endswith(".gz") else str(path)
        back = gpd.read_file(vsi)
        assert back["id"].tolist() == parcels["id"].tolist()
        assert pyogrio.read_info(vsi)["crs"] == "EPSG:4326"
