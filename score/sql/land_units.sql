-- Contiguous land units: adjacent (touching, eps 0) available parcels (candidate land of known
-- status, unbuilt or brownfield, not excluded: score_input.available) of one PLU zone (or of one
-- commune where the parcels are candidates through a site or a brownfield). Land of unknown
-- status never joins a unit: a 9 m2 parcel of unknown use is no part of a "contiguous" 16 ha. Partitioning by commune keeps a re-scoring of one
-- territory from touching the units of another. The cluster ids are cheap; the union geometry is
-- the cost: geo/land_units.py dissolves the multi-parcel units between this file and
-- land_unit_rows.sql.

DELETE FROM land_unit WHERE insee IN (SELECT insee FROM score_scope);

CREATE UNLOGGED TABLE score_cluster AS
SELECT i.idu, i.insee, i.zone_id, i.zone_class, i.area_m2,
    ST_ClusterDBSCAN(p.geom, 0, 1) OVER (PARTITION BY i.insee, i.zone_id) AS cid
FROM score_input i
JOIN parcel p ON p.idu = i.idu
WHERE i.available;

-- Parcels tile the ground, so a unit's area is the sum of its parcels' areas.
CREATE UNLOGGED TABLE score_unit AS
SELECT nextval(pg_get_serial_sequence('land_unit', 'id')) AS id, u.*
FROM (
    SELECT insee, zone_id, cid, min(zone_class) AS zone_class, count(*) AS parcel_count,
        sum(area_m2) / %(m2_per_ha)s AS area_ha, array_agg(idu ORDER BY idu) AS idus
    FROM score_cluster
    GROUP BY insee, zone_id, cid
) u;

CREATE UNLOGGED TABLE score_unit_member AS
SELECT unnest(idus) AS idu, id AS unit_id, area_ha AS unit_ha FROM score_unit;

ANALYZE score_unit_member;
