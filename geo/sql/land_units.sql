-- Contiguous land units: adjacent (touching, eps 0) unbuilt, non-excluded parcels of one PLU zone
-- (or of one commune where no PLU is loaded). Partitioning by commune keeps a re-scoring of one
-- territory from touching the units of another.

DELETE FROM land_unit WHERE insee IN (SELECT insee FROM score_scope);

CREATE TEMP TABLE score_cluster ON COMMIT DROP AS
SELECT i.idu, i.insee, i.zone_id, i.zone_class, i.area_m2,
    ST_ClusterDBSCAN(p.geom, 0, 1) OVER (PARTITION BY i.insee, i.zone_id) AS cid
FROM score_input i
JOIN parcel p ON p.idu = i.idu
WHERE NOT i.built AND NOT i.excluded;

CREATE TEMP TABLE score_unit ON COMMIT DROP AS
SELECT nextval(pg_get_serial_sequence('land_unit', 'id')) AS id, d.*
FROM (SELECT DISTINCT insee, zone_id, cid FROM score_cluster) d;

CREATE TEMP TABLE score_unit_member ON COMMIT DROP AS
SELECT c.idu, u.id AS unit_id, sum(c.area_m2) OVER (PARTITION BY u.id) / %(m2_per_ha)s AS unit_ha
FROM score_cluster c
JOIN score_unit u ON u.insee = c.insee AND u.cid = c.cid
    AND u.zone_id IS NOT DISTINCT FROM c.zone_id;

CREATE INDEX ON score_unit_member (idu);

-- One parcel needs no union; larger units are dissolved (parcels tile the ground, so the union
-- area equals the sum of parcel areas, which is what area_ha reports).
INSERT INTO land_unit (id, insee, zone_id, zone_class, parcel_count, area_ha, idus, geom)
SELECT u.id, u.insee, u.zone_id, min(c.zone_class), count(*), sum(c.area_m2) / %(m2_per_ha)s,
    array_agg(c.idu ORDER BY c.idu),
    CASE WHEN count(*) = 1 THEN ST_Multi((array_agg(p.geom))[1])
         ELSE ST_Multi(ST_CollectionExtract(ST_UnaryUnion(ST_Collect(p.geom)), 3)) END
FROM score_unit u
JOIN score_cluster c ON u.insee = c.insee AND u.cid = c.cid AND u.zone_id IS NOT DISTINCT FROM c.zone_id
JOIN parcel p ON p.idu = c.idu
GROUP BY u.id, u.insee, u.zone_id;
