-- The one rule for parcel.built, after any load that brings buildings or parcels: the loads
-- write the parcels to recompute into parcel_built_todo (parcel_built_after_*.sql), then this.
-- A parcel is built when a building covers more than 10 m2 of it, or more than half of a
-- parcel smaller than 20 m2: digitising slivers along shared boundaries stay below that.
-- Areas by foncier_area_m2: overseas, Lambert-93 would make every sliver several times larger.
-- The flag is known (true or false) only where a building layer covers the parcel: its EDIGEO
-- sheet (a sheet always brings its BATIMENT_id layer, empty or not), or a commune-wide building
-- file (Etalab batiments, BD TOPO: rows without sheet) of its commune. Elsewhere it is NULL:
-- unknown land, never ENAF. Any building counts as evidence, whatever its source.
WITH todo AS (
    SELECT p.idu, p.insee, p.sheet, p.geom FROM parcel p JOIN parcel_built_todo t ON t.idu = p.idu
),
covered AS (
    -- Once per commune: a commune-wide file left at least one building there.
    SELECT c.insee FROM (SELECT DISTINCT insee FROM todo) c
    WHERE EXISTS (SELECT 1 FROM building b WHERE b.insee = c.insee AND b.sheet IS NULL)
),
flag AS (
    SELECT t.idu,
        CASE WHEN t.sheet IS NOT NULL OR t.insee IN (SELECT insee FROM covered) THEN EXISTS (
            SELECT 1 FROM building b
            WHERE b.geom && t.geom
              AND ST_Intersects(b.geom, t.geom)
              AND foncier_area_m2(ST_Intersection(b.geom, t.geom))
                  > least(10.0, 0.5 * foncier_area_m2(t.geom))
        ) END AS built
    FROM todo t
)
UPDATE parcel p SET built = f.built
FROM flag f
WHERE p.idu = f.idu AND p.built IS DISTINCT FROM f.built;

DROP TABLE parcel_built_todo;
