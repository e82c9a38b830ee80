-- Land unit rows: a one-parcel unit is its parcel; larger units take the union computed by
-- geo/land_units.py (score_unit_geom).
INSERT INTO land_unit (id, insee, zone_id, zone_class, parcel_count, area_ha, idus, geom)
SELECT u.id, u.insee, u.zone_id, u.zone_class, u.parcel_count, u.area_ha, u.idus,
    ST_Multi(coalesce(ST_GeomFromWKB(g.wkb, 2154), p.geom))
FROM score_unit u
LEFT JOIN score_unit_geom g ON g.id = u.id
LEFT JOIN parcel p ON u.parcel_count = 1 AND p.idu = u.idus[1];
