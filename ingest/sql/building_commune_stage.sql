-- Before a commune-wide buildings file (Etalab batiments, BD TOPO) is merged ({stage}: its
-- buildings, each with its commune). The file replaces the commune-wide buildings (sheet NULL)
-- of the communes it covers, whichever file brought them; the EDIGEO sheets' buildings of
-- those communes stay (only their sheet's reload replaces them): their ids are held, as the
-- keys of quarantined rows are, so the merge's deletion within the communes skips them.
INSERT INTO held_building (id)
SELECT b.id FROM building b
WHERE b.sheet IS NOT NULL
  AND b.insee IN (SELECT DISTINCT insee FROM {stage} WHERE insee IS NOT NULL);

-- The buildings the merge will delete or move, for parcel_built_after_buildings.sql: the
-- parcels under them may lose their flag, even in a commune the file does not cover.
DROP TABLE IF EXISTS building_gone;
CREATE TEMP TABLE building_gone ON COMMIT DROP AS
SELECT b.geom FROM building b
WHERE b.sheet IS NULL
  AND b.insee IN (SELECT DISTINCT insee FROM {stage} WHERE insee IS NOT NULL)
  AND NOT EXISTS (SELECT 1 FROM {stage} s WHERE s.id = b.id AND s.geom = b.geom);
