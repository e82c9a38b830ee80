"""Bodies and answers of the ZAN simulator (they make its OpenAPI description).

Error messages are French: they are read by planners through the simulator page.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Literal, Self

from geojson_pydantic import MultiPolygon, Polygon
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from score.simulate import FIRST_YEAR, HORIZON_YEAR

IDU_PATTERN = r"^[0-9][0-9AB][0-9]{3}[0-9A-Z]{3}[0-9A-Z]{2}[0-9]{4}$"
MAX_PROJECTS = 100
MAX_PARCELS = 2000
Background = Literal["none", "pace"]


class ProjectIn(BaseModel):
    """One project: what it covers (exactly one of site, land unit, parcels, polygon) and when."""

    model_config = ConfigDict(extra="forbid")

    label: str | None = Field(None, max_length=200, description="nom libre du projet")
    site_id: str | None = Field(None, min_length=1, max_length=80, description="un site")
    land_unit_id: int | None = Field(None, ge=1, le=2**62, description="une unité foncière")
    parcels: list[str] | None = Field(
        None, min_length=1, max_length=MAX_PARCELS, description="des parcelles (IDU, 14 car.)"
    )
    geometry: Polygon | MultiPolygon | None = Field(
        None, description="un polygone dessiné (GeoJSON Polygon ou MultiPolygon, CRS84)"
    )
    start_year: int = Field(
        ge=FIRST_YEAR, le=HORIZON_YEAR, description="année où la consommation commence"
    )
    share: float = Field(1.0, gt=0, le=1, description="part aménagée (0-1] de son coût ENAF")
    duration_years: int = Field(1, ge=1, le=10, description="coût réparti sur ces années")
    pene: bool | None = Field(
        None,
        description="projet d'envergure nationale ou européenne (enveloppe nationale) ; "
        "par défaut, le drapeau du site",
    )

    @field_validator("parcels", mode="after")
    @classmethod
    def _idus(cls, value: list[str] | None) -> list[str] | None:
        import re

        for i, idu in enumerate(value or []):
            if not re.fullmatch(IDU_PATTERN, idu):
                raise ValueError(f"parcelle n° {i} {idu[:20]!r} : un IDU a 14 caractères")
        return value

    @field_validator("geometry", mode="after")
    @classmethod
    def _crs84(cls, value: Polygon | MultiPolygon | None) -> Polygon | MultiPolygon | None:
        if value is None:
            return value
        polygons = value.coordinates if isinstance(value, MultiPolygon) else [value.coordinates]
        for position in (pos for poly in polygons for ring in poly for pos in ring):
            lon, lat = position[0], position[1]
            if not (math.isfinite(lon) and math.isfinite(lat)) or not (
                -180 <= lon <= 180 and -90 <= lat <= 90
            ):
                raise ValueError(f"position ({lon}, {lat}) hors de CRS84 (lon, lat en degrés)")
        return value

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        given = [
            name
            for name in ("site_id", "land_unit_id", "parcels", "geometry")
            if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "donner exactement un de site_id, land_unit_id, parcels, geometry"
                + (f" (reçu : {', '.join(given)})" if given else "")
            )
        if self.start_year + self.duration_years - 1 > HORIZON_YEAR:
            raise ValueError(f"start_year + duration_years - 1 dépasse {HORIZON_YEAR}")
        return self


class SimulationIn(BaseModel):
    """A scenario to simulate: its projects, and what the years not yet observed consume."""

    model_config = ConfigDict(extra="forbid")

    projects: list[ProjectIn] = Field(default_factory=list, max_length=MAX_PROJECTS)
    background: Background = Field(
        "none",
        description="none : seulement l'observé et les projets ; pace : les années non "
        "observées jusqu'en 2030 consomment au rythme observé depuis 2021",
    )


class ProjectOut(BaseModel):
    index: int
    label: str | None
    kind: Literal["site", "land_unit", "parcels", "polygon"]
    ref: str | None
    start_year: int
    share: float
    duration_years: int
    pene: bool
    area_ha: float | None = Field(description="surface couverte")
    cost_ha: float = Field(description="coût ENAF connu (terrain de statut connu)")
    cost_max_ha: float = Field(description="coût ENAF si tout terrain inconnu est consommé")
    developed_ha: float = Field(description="cost_ha × share")
    developed_max_ha: float
    statuses: dict[str, float | int] = Field(description="statuts fonciers rencontrés")


class YearOut(BaseModel):
    year: int
    period: str
    observed_ha: float | None = Field(description="consommation observée (Cerema)")
    background_ha: float
    projects_ha: float
    projects_worst_ha: float
    pene_ha: float
    pene_worst_ha: float
    cumulative_ha: float = Field(description="cumul dans la décennie, coût connu")
    cumulative_worst_ha: float = Field(description="cumul si tout l'inconnu est consommé")


class RemainingOut(BaseModel):
    year: int
    remaining_ha: float
    remaining_worst_ha: float


class EnvelopeOut(BaseModel):
    name: Literal["law", "commune_guarantees", "territorialised"]
    period: str
    envelope_ha: float
    consumed_ha: float
    consumed_worst_ha: float
    margin_ha: float
    margin_worst_ha: float
    exhaustion_year: int | None
    exhaustion_year_worst: int | None
    assumed: bool = Field(description="enveloppe d'après l'hypothèse (après 2030)")
    remaining: list[RemainingOut]


class SummaryOut(BaseModel):
    envelope_ha: float
    consumed_2030_ha: float
    consumed_2030_worst_ha: float
    margin_2030_ha: float
    margin_2030_worst_ha: float
    exhaustion_year: int | None
    exhaustion_year_worst: int | None
    projects_ha: float
    projects_worst_ha: float
    pene_ha: float = Field(description="PENE : enveloppe nationale, hors territoire")
    pene_worst_ha: float


class SimulationOut(BaseModel):
    kind: str
    code: str
    background: Background
    account: dict[str, object] = Field(description="le compte ZAN lu (millésimes, cible)")
    main_envelope: Literal["law", "territorialised"]
    summary: SummaryOut
    projects: list[ProjectOut]
    years: list[YearOut]
    envelopes: list[EnvelopeOut]
    assumptions: list[str]


class CandidateOut(BaseModel):
    kind: Literal["site", "land_unit"]
    id: str
    name: str | None
    insee: str | None
    commune: str | None
    area_ha: float | None = Field(description="surface mise à disposition")
    land_status: str
    cost_ha: float | None = Field(description="coût ENAF (null : statut inconnu)")
    cost_max_ha: float | None = Field(description="coût ENAF maximal (tout l'inconnu consommé)")
    cost_per_ha: float | None = Field(description="coût ENAF par hectare mis à disposition")
    cost_max_per_ha: float | None
    brownfield: bool
    pene: bool
    score: float | None
    project: dict[str, str | int] = Field(description="le projet à ajouter (plus start_year)")


class CandidatesOut(BaseModel):
    kind: str
    code: str
    candidates: list[CandidateOut]


class ScenarioIn(SimulationIn):
    """A scenario to save: a name and the simulator's body."""

    name: str = Field(min_length=1, max_length=200, description="nom du scénario")


class ScenarioOut(BaseModel):
    link_id: str = Field(description="lien de partage : lire le scénario sans clé")
    name: str
    kind: str
    code: str
    body: dict[str, Any] = Field(description="les projets enregistrés")
    answer: SimulationOut = Field(description="la simulation à l'enregistrement")
    vintages: dict[str, Any] = Field(description="millésimes du compte et du dernier scoring")
    profile_version: str | None
    created_at: datetime
    current: SimulationOut | None = Field(None, description="avec recompute=true")
    current_vintages: dict[str, Any] | None = None
    changed: bool | None = Field(None, description="la simulation d'aujourd'hui diffère")


class ScenariosOut(BaseModel):
    kind: str
    code: str
    scenarios: list[ScenarioOut]


class ScenarioCompared(BaseModel):
    link_id: str
    name: str
    summary: SummaryOut
    projects: list[str] = Field(description="projets : nature:réf@année×part")
    only_here: list[str] = Field(description="projets que les autres scénarios n'ont pas")
    vintages: dict[str, Any]
    profile_version: str | None


class ScenariosCompareOut(BaseModel):
    kind: str
    code: str
    common: list[str] = Field(description="projets communs à tous")
    scenarios: list[ScenarioCompared]
