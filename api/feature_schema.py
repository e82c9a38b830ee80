"""JSON Schemas of a collection's features, built from the registry.

Two shapes, because the clients read two:

- ``part5``: OGC API Features Part 5 (Schemas), the feature's properties flat, with ``x-ogc-role``
  for the id and the primary geometry, at ``/collections/{id}/schema`` (link relation
  ``http://www.opengis.net/def/rel/ogc/1.0/schema``).
- ``geojson``: one GeoJSON Feature, whose ``properties`` member holds the typed properties, at
  ``/collections/{id}/feature-schema`` (link relation ``describedby``). GDAL's OAPIF driver
  (3.6) builds an example object from this shape to type its fields (number → Real, integer →
  Integer, boolean → Integer(Boolean)), instead of guessing from the first page, where an unscored
  parcel's ``score`` is null and becomes a String. It only follows local ``#/`` references and
  needs ``type`` to be a single string, so nullable properties are written ``"type": "number"``
  and left out of ``required``.
"""

from __future__ import annotations

from typing import Any

from api.collections import NUMBER, OBJECT, Collection, Prop

JSON_SCHEMA_2020 = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_REL = "http://www.opengis.net/def/rel/ogc/1.0/schema"
# Part 5 geometry formats, by the registry's geometry type.
_GEOMETRY_FORMAT = {
    "Point": "geometry-point",
    "MultiPoint": "geometry-multipoint",
    "LineString": "geometry-linestring",
    "MultiLineString": "geometry-multilinestring",
    "Polygon": "geometry-polygon",
    "MultiPolygon": "geometry-multipolygon",
    "Geometry": "geometry-any",
}
# UCUM units (Part 5 ``x-ogc-unit``) read from the property's name suffix.
_UNITS = {"_ha": "har", "_m2": "m2", "_m": "m"}


def _unit(name: str) -> str | None:
    return next((u for suffix, u in _UNITS.items() if name.endswith(suffix)), None)


def _property(p: Prop) -> dict[str, Any]:
    out: dict[str, Any] = {"title": p.title or p.name, "type": p.type}
    if p.type == OBJECT:
        out["description"] = "objet JSON (détail)"
    unit = _unit(p.name)
    if unit and p.type == NUMBER:
        out["x-ogc-unit"] = unit
    return out


def id_type(c: Collection) -> str:
    """The JSON type of the collection's feature ids (integer or string)."""
    own = next((p for p in c.props if p.expr == c.id_expr), None)
    return own.type if own is not None else "string"


def part5(c: Collection, privileged: bool, schema_id: str) -> dict[str, Any]:
    """The Part 5 schema: id, geometry and properties as one flat object."""
    props: dict[str, Any] = {
        "id": {"title": "Identifiant de l'objet", "type": id_type(c), "x-ogc-role": "id"},
        "geometry": {
            "title": "Géométrie",
            "format": _GEOMETRY_FORMAT.get(c.geometry_type, "geometry-any"),
            "x-ogc-role": "primary-geometry",
        },
    }
    for p in c.visible_props(privileged):
        props.setdefault(p.name, _property(p))
    for seq, name in enumerate(props):
        props[name]["x-ogc-propertySeq"] = seq
    return {
        "$schema": JSON_SCHEMA_2020,
        "$id": schema_id,
        "type": "object",
        "title": c.title,
        "description": c.description,
        "properties": props,
    }


def geojson_feature(c: Collection, privileged: bool, schema_id: str) -> dict[str, Any]:
    """The schema of one GeoJSON feature of ``c`` (what GDAL's OAPIF driver types fields from)."""
    props = {p.name: _property(p) for p in c.visible_props(privileged)}
    return {
        "$schema": JSON_SCHEMA_2020,
        "$id": schema_id,
        "title": c.title,
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": id_type(c)},
            "geometry": {"$ref": "#/$defs/geometry"},
            "properties": {"type": "object", "properties": props},
        },
        "$defs": {
            "geometry": {
                "type": "object",
                "properties": {
                    "type": {"type": "string"}
                    if c.geometry_type == "Geometry"
                    else {"type": "string", "enum": [c.geometry_type]},
                    "coordinates": {"type": "array"},
                },
            }
        },
    }
