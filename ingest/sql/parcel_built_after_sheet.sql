-- After an EDIGEO sheet's buildings are merged: drop the sheet's buildings that the file no
-- longer has (the merge cannot when the sheet has no building at all), then list the parcels
-- whose flag parcel_built.sql recomputes: the sheet's, and those its buildings touch (a
-- building across a sheet boundary). {stage} is the building staging table; stage_parcel
-- holds the same file's parcels.
DELETE FROM building b
WHERE b.sheet IN (SELECT DISTINCT sheet FROM stage_parcel)
  AND NOT EXISTS (SELECT 1 FROM {stage} s WHERE s.id = b.id)
  AND NOT EXISTS (SELECT 1 FROM held_building h WHERE h.id = b.id);

DROP TABLE IF EXISTS parcel_built_todo;
CREATE TEMP TABLE parcel_built_todo ON COMMIT DROP AS
SELECT p.idu FROM parcel p
WHERE p.sheet IN (SELECT DISTINCT sheet FROM stage_parcel)
UNION
SELECT p.idu FROM parcel p JOIN {stage} s ON p.geom && s.geom AND ST_Intersects(p.geom, s.geom);
