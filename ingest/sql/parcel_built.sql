-- After an EDIGEO sheet's buildings are merged: drop the sheet's buildings that the file no
-- longer has (the merge cannot when the sheet has no building at all), then flag its parcels.
-- {stage} is the building staging table; stage_parcel holds the same file's parcels.
DELETE FROM building b
WHERE b.sheet IN (SELECT DISTINCT sheet FROM stage_parcel)
  AND NOT EXISTS (SELECT 1 FROM {stage} s WHERE s.id = b.id)
  AND NOT EXISTS (SELECT 1 FROM held_building h WHERE h.id = b.id);

-- A parcel is built when a building covers more than 10 m2 of it, or more than half of a
-- parcel smaller than 20 m2: digitising slivers along shared boundaries stay below that.
-- Areas by foncier_area_m2: overseas, Lambert-93 would make every sliver several times larger.
-- Candidates: the sheet's parcels, and EDIGEO parcels of other sheets that its buildings touch.
WITH candidate AS (
    SELECT p.idu FROM parcel p
    WHERE p.sheet IN (SELECT DISTINCT sheet FROM stage_parcel)
    UNION
    SELECT p.idu FROM parcel p JOIN {stage} s ON p.geom && s.geom AND ST_Intersects(p.geom, s.geom)
    WHERE p.sheet IS NOT NULL
),
flag AS (
    SELECT p.idu, EXISTS (
        SELECT 1 FROM building b
        WHERE b.geom && p.geom
          AND ST_Intersects(b.geom, p.geom)
          AND foncier_area_m2(ST_Intersection(b.geom, p.geom))
              > least(10.0, 0.5 * foncier_area_m2(p.geom))
    ) AS built
    FROM parcel p JOIN candidate c ON c.idu = p.idu
)
UPDATE parcel p SET built = f.built
FROM flag f
WHERE p.idu = f.idu AND p.built IS DISTINCT FROM f.built;
