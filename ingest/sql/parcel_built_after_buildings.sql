-- After a commune-wide buildings file ({stage}: its buildings, each in a commune it covers):
-- the parcels whose flag parcel_built.sql recomputes are those of the communes it covers,
-- those its buildings touch (a building across a commune boundary), and those under the
-- buildings the merge removed or moved (building_gone, from building_commune_stage.sql).
DROP TABLE IF EXISTS parcel_built_todo;
CREATE TEMP TABLE parcel_built_todo ON COMMIT DROP AS
SELECT p.idu FROM parcel p
WHERE p.insee IN (SELECT DISTINCT insee FROM {stage})
UNION
SELECT p.idu FROM parcel p JOIN {stage} s ON p.geom && s.geom AND ST_Intersects(p.geom, s.geom)
UNION
SELECT p.idu FROM parcel p
JOIN building_gone g ON p.geom && g.geom AND ST_Intersects(p.geom, g.geom);

DROP TABLE building_gone;
