-- Recompute site_parcel for the sites listed in the temp table site_parcel_todo(id): the one
-- rule of which parcels a site covers, run after sites and parcels loads (ingest/sql/
-- site_parcel_after_*.sql list the sites) and by the API's site writes (db/site_parcels.py).
-- A site's parcels:
--   * sites with a perimeter ('polygon'): the parcels lying mostly (more than half their area) inside
--     it, plus a parcel holding most of the site when the site is a plot carved out of a larger
--     parcel (so a small perimeter inside a big field still gets its parcel);
--   * sites known only by a point ('point'): the parcel containing the point (the lowest idu
--     when the point sits on a shared boundary);
--   * sites placed at their commune ('commune'): none, their point says nothing about parcels.
-- Areas in EPSG:2154 square metres; every join goes through the parcel GiST index.
DELETE FROM site_parcel sp USING site_parcel_todo t WHERE sp.site_id = t.id;

INSERT INTO site_parcel (site_id, idu)
SELECT s.id, p.idu
FROM site s
JOIN site_parcel_todo t ON t.id = s.id
JOIN parcel p ON p.geom && s.perimeter AND ST_Intersects(p.geom, s.perimeter)
WHERE s.location_precision = 'polygon'
  AND (ST_CoveredBy(p.geom, s.perimeter)
       OR ST_Area(ST_Intersection(p.geom, s.perimeter))
          > 0.5 * least(ST_Area(p.geom), ST_Area(s.perimeter)))
UNION
SELECT s.id, hit.idu
FROM site s
JOIN site_parcel_todo t ON t.id = s.id
CROSS JOIN LATERAL (
    SELECT p.idu FROM parcel p
    WHERE p.geom && s.geom AND ST_Intersects(p.geom, s.geom)
    ORDER BY p.idu
    LIMIT 1
) hit
WHERE s.location_precision = 'point';

DROP TABLE site_parcel_todo;
