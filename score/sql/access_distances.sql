-- Access distances (issue 15): straight-line km, in Lambert-93, from each land unit and site of
-- the scope to the nearest rail line and the nearest freight port. One KNN probe (<->, ordered
-- by the GiST index of rail_line / freight_port) per row and target; ST_Distance gives the
-- figure (0 when the line crosses the unit). No line or port loaded: NULL (unknown), never 0.
UPDATE land_unit u
SET rail_km = r.km, port_km = p.km
FROM land_unit x
LEFT JOIN LATERAL (
    SELECT ST_Distance(l.geom, x.geom) / 1000.0 AS km
    FROM rail_line l ORDER BY l.geom <-> x.geom LIMIT 1
) r ON true
LEFT JOIN LATERAL (
    SELECT ST_Distance(f.geom, x.geom) / 1000.0 AS km
    FROM freight_port f ORDER BY f.geom <-> x.geom LIMIT 1
) p ON true
WHERE u.id = x.id AND x.insee IN (SELECT insee FROM score_scope);

-- A site is measured from its perimeter when known, else from its point.
UPDATE site_score ss
SET rail_km = r.km, port_km = p.km
FROM site s
LEFT JOIN LATERAL (
    SELECT ST_Distance(l.geom, coalesce(s.perimeter, s.geom)) / 1000.0 AS km
    FROM rail_line l ORDER BY l.geom <-> coalesce(s.perimeter, s.geom) LIMIT 1
) r ON true
LEFT JOIN LATERAL (
    SELECT ST_Distance(f.geom, coalesce(s.perimeter, s.geom)) / 1000.0 AS km
    FROM freight_port f ORDER BY f.geom <-> coalesce(s.perimeter, s.geom) LIMIT 1
) p ON true
WHERE ss.site_id = s.id AND s.insee IN (SELECT insee FROM score_scope);
