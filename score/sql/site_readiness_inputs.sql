-- The computed inputs of the readiness checklist, per site (%(site_ids)s: text[], NULL = all):
-- the PLU zone class under the site (the zone covering most of its perimeter, else the one
-- under its point), the strongest flood kind and the technological-risk kind it touches.
-- A site placed at its commune (location_precision 'commune') has no known place: NULL.
-- 'none': nothing of that layer is known there.
SELECT s.id,
       CASE WHEN s.location_precision <> 'commune' THEN coalesce(z.zone_class, 'none') END,
       CASE WHEN s.location_precision <> 'commune' THEN coalesce(f.kind, 'none') END,
       CASE WHEN s.location_precision <> 'commune' THEN coalesce(t.kind, 'none') END
FROM site s
LEFT JOIN LATERAL (
    SELECT z.zone_class FROM plu_zone z
    WHERE ST_Intersects(z.geom, coalesce(s.perimeter, s.geom))
    ORDER BY ST_Area(ST_Intersection(z.geom, coalesce(s.perimeter, s.geom))) DESC, z.id
    LIMIT 1
) z ON true
LEFT JOIN LATERAL (
    SELECT c.kind FROM constraint_zone c
    WHERE c.kind IN ('flood_high', 'flood_medium', 'flood_low')
      AND ST_Intersects(c.geom, coalesce(s.perimeter, s.geom))
    ORDER BY array_position(ARRAY['flood_high', 'flood_medium', 'flood_low'], c.kind)
    LIMIT 1
) f ON true
LEFT JOIN LATERAL (
    SELECT c.kind FROM constraint_zone c
    WHERE c.kind = 'ppr_technological' AND ST_Intersects(c.geom, coalesce(s.perimeter, s.geom))
    LIMIT 1
) t ON true
WHERE CAST(%(site_ids)s AS text[]) IS NULL OR s.id = ANY(%(site_ids)s)
