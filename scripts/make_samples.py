"""Derive data/samples/ from the real public files of ../shared/data (see data/samples/README.md).

Run once by a developer when the samples change; the service never needs ../shared at run time.
Usage: python scripts/make_samples.py [SHARED_DATA_DIR]
"""

from __future__ import annotations

import gzip
import json
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "data" / "samples"
# npm @etalab/decoupage-administratif 6.0.0 (package.json): INSEE COG 2026 lists as JSON.
COG = ROOT / "node_modules" / "@etalab" / "decoupage-administratif" / "data"
ARA_DEPS = ["01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74"]
# Départements of the other real samples: parcels (91 Essonne, 25 Doubs), protected areas
# (60 Oise), flood zones (59 Nord).
EXTRA_DEPS = ["91", "25", "60", "59"]
DEPS = ARA_DEPS + EXTRA_DEPS


@contextmanager
def _gzip_writer(path: Path) -> Iterator[gzip.GzipFile]:
    # mtime=0: the same input gives the same bytes, so re-running the script changes nothing.
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as gz,
    ):
        yield gz


def write_geojson_gz(gdf: gpd.GeoDataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix("")
    gdf.to_file(tmp, driver="GeoJSON", COORDINATE_PRECISION=6)
    with tmp.open("rb") as src, _gzip_writer(path) as dst:
        shutil.copyfileobj(src, dst)
    tmp.unlink()


def gz_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with src.open("rb") as s, _gzip_writer(dst) as d:
        shutil.copyfileobj(s, d)


def copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)


def scot_membres(enaf_csv: Path, out: Path) -> None:
    """The commune -> SCoT table (scot_id, nom_scot, insee) of a Cerema ENAF file.

    The file names its SCoT (``scot``) without an id: the id is the ``scots`` layer's own slug
    of that name, so loading either file gives the same rows. Sorted, so the bytes are stable.
    """
    from ingest.layers.scot import scot_slug

    enaf = pd.read_csv(enaf_csv, dtype=str, keep_default_na=False)
    table = pd.DataFrame(
        {"scot_id": enaf["scot"].map(scot_slug), "nom_scot": enaf["scot"], "insee": enaf["idcom"]}
    )
    table.sort_values(["scot_id", "insee"]).to_csv(out, index=False)


def rail_lines(rfn: Path, communes: gpd.GeoDataFrame, out: Path) -> None:
    """The RFN lines that cross a commune of the sample, whole (not cut at its edge)."""
    lines = gpd.read_file(rfn)
    hit = gpd.sjoin(lines, communes[["geometry"]].to_crs(lines.crs), predicate="intersects")
    lines = lines.loc[sorted(set(hit.index))]
    write_geojson_gz(lines, out)


def _cog(name: str) -> list[dict[str, object]]:
    with (COG / f"{name}.json").open(encoding="utf-8") as fh:
        return list(json.load(fh))


def cog_regions_departements(out_dir: Path) -> None:
    """The COG 2026 regions (code, nom) and départements (code, nom, region) of all France.

    The package also lists the eight collectivités d'outre-mer (975, 977, 978, 984, 986-989) as
    both a region and a département; the COG keeps them in a list of their own, and a region
    code has two characters: they are left out.
    """
    regions = pd.DataFrame([r for r in _cog("regions") if r["zone"] != "com"])
    regions[["code", "nom"]].sort_values("code").to_csv(
        out_dir / "regions_cog_2026.csv", index=False
    )
    deps = pd.DataFrame([d for d in _cog("departements") if d["zone"] != "com"])
    deps[["code", "nom", "region"]].sort_values("code").to_csv(
        out_dir / "departements_cog_2026.csv", index=False
    )


def cog_history(communes: list[dict[str, object]]) -> pd.DataFrame:
    """Old INSEE code -> current commune, from the COG 2026 communes list (all France).

    Two sources in the list: each current commune's ``anciensCodes`` (no name), and the
    communes déléguées / associées whose ``chefLieu`` is another code (with their name). Where
    the two disagree (2 codes in 6.0.0: 55273, 60455) the déléguée/associée record wins: it is
    the COG's own table of the communes inside a current one.
    """
    rows: dict[str, dict[str, object]] = {}
    for c in communes:
        if c["type"] == "commune-actuelle":
            for old in c.get("anciensCodes", []):  # type: ignore[attr-defined]
                rows.setdefault(old, {"insee": c["code"], "nom": None, "type": "ancien-code"})
    for c in communes:
        if c["type"] in ("commune-deleguee", "commune-associee") and c["chefLieu"] != c["code"]:
            rows[str(c["code"])] = {"insee": c["chefLieu"], "nom": c["nom"], "type": c["type"]}
    table = pd.DataFrame(
        [{"insee_ancienne": k, **v} for k, v in rows.items()],
        columns=["insee_ancienne", "insee", "nom", "type"],
    )
    return table.sort_values("insee_ancienne").reset_index(drop=True)


def main(shared: Path) -> None:
    communes = gpd.read_file(
        f"/vsigzip/{shared / 'admin/communes_2022_france_simplified.geojson.gz'}"
    )
    # Plus the communes of the sites clés en main of the press list, wherever they are.
    scem = pd.read_csv(shared / "sites_cles_en_main/scem_2024_partiel_presse.csv", dtype=str)
    scem_communes = {c for cell in scem["insee_com"].dropna() for c in cell.split("|")}
    communes = communes[
        communes["insee_dep"].isin(DEPS) | communes["insee_com"].isin(scem_communes)
    ]
    write_geojson_gz(communes, OUT / "admin/communes_2022_sample.geojson.gz")
    epci = gpd.read_file(shared / "admin/epci_2022_france_simplified.geojson")
    epci = epci[epci["siren_epci"].isin(communes["siren_epci_2022"].dropna().unique())]
    write_geojson_gz(epci, OUT / "admin/epci_2022_sample.geojson.gz")
    cog_regions_departements(OUT / "admin")
    cog_communes = _cog("communes")
    history = cog_history(cog_communes)
    history.to_csv(OUT / "admin/communes_anciennes_cog_2026.csv", index=False)
    # The current communes of the sample: a 2022 code merged or renumbered since is replaced by
    # the code it goes to (69159 Porte des Pierres Dorées is 69114 in COG 2026).
    current = history.set_index("insee_ancienne")["insee"]
    codes = communes["insee_com"].map(lambda c: current.get(c, c))
    cog = pd.read_csv(shared / "admin/communes_2026_epci.csv", dtype=str)
    cog = cog[cog["insee_com"].isin(codes)].copy()
    # The commune's own SIREN, from the package (Territoires d'industrie name communes by it).
    siren = {c["code"]: c.get("siren") for c in cog_communes if c["type"] == "commune-actuelle"}
    cog["siren_com"] = cog["insee_com"].map(siren)
    cog.to_csv(OUT / "admin/communes_2026_epci_sample.csv", index=False)
    ti = shared / "territoires_industrie"
    for name in ("ti_2018_2022_perimetres.geojson", "ti_2023_2027_perimetres.geojson"):
        gz_copy(ti / name, OUT / "territoires_industrie" / (name + ".gz"))
    for name in ("ti_2018_2022_groupements.csv", "ti_2023_2027_epci.csv"):
        copy(ti / name, OUT / "territoires_industrie" / name)
    for path in sorted((shared / "cadastre/etalab").glob("*.json.gz")):
        copy(path, OUT / "cadastre/etalab" / path.name)
    for path in sorted((shared / "cadastre/edigeo").glob("*.tar.bz2")):
        copy(path, OUT / "cadastre/edigeo" / path.name)
    gz_copy(
        shared / "region_ara/cartofriches_2023-10_ara.geojson",
        OUT / "friches/cartofriches_2023-10_ara.geojson.gz",
    )
    copy(
        shared / "friches/cartofriches_polygones_metropole_lyon.geojson",
        OUT / "friches/cartofriches_polygones_metropole_lyon.geojson",
    )
    gz_copy(
        shared / "friches/ademe_sites_pollues_interventions.geojson",
        OUT / "friches/ademe_sites_pollues_interventions.geojson.gz",
    )
    gz_copy(
        shared / "urbanisme/plu_megeve_74173_zone_urba.geojson",
        OUT / "urbanisme/plu_megeve_74173_zone_urba.geojson.gz",
    )
    gz_copy(
        shared / "protection/oise_60_znieff_natura2000.geojson",
        OUT / "protection/oise_60_znieff_natura2000.geojson.gz",
    )
    gz_copy(
        shared / "risques/tri_lille_surfaces_inondables_2014.geojson",
        OUT / "risques/tri_lille_surfaces_inondables_2014.geojson.gz",
    )
    for name in (
        "conso_enaf_2009_2024_scot_rives_du_rhone.csv",
        "conso_enaf_annuelle_2009_2023_metropole_lyon.csv",
        "objectifs_reduction_conso_territorialises_hdf.csv",
    ):
        copy(shared / "zan" / name, OUT / "zan" / name)
    scot_membres(
        OUT / "zan/conso_enaf_2009_2024_scot_rives_du_rhone.csv",
        OUT / "zan/scot_membres_rives_du_rhone.csv",
    )
    copy(
        shared / "sites_cles_en_main/scem_2024_partiel_presse.csv",
        OUT / "sites/scem_2024_partiel_presse.csv",
    )
    transport = shared / "transport"
    rail_lines(
        transport / "sncf_rfn_lignes_simplifiees.geojson",
        communes,
        OUT / "transport/sncf_rfn_lignes_sample.geojson.gz",
    )
    # 33 points: all of them (ODbL, kept in a file of its own).
    copy(
        transport / "ports_fret_interieurs_osm.geojson",
        OUT / "transport/ports_fret_interieurs_osm.geojson",
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data")
