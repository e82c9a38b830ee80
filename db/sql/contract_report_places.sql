-- The places of the sheets in scope that the map can draw, in WGS84: sites (their point) and
-- communes (a point on their surface). Land units and ZAE are listed with no coordinates.
SELECT scope.is_example, scope.id AS sheet_id, scope.code, scope.title, scope.status,
       p.place_type, p.place_id,
       ST_X(ST_Transform(g.pt, 4326)) AS lon, ST_Y(ST_Transform(g.pt, 4326)) AS lat
FROM scope
JOIN ti_action_place p ON p.sheet_id = scope.id
LEFT JOIN LATERAL (
  SELECT s.geom AS pt FROM site s WHERE p.place_type = 'site' AND s.id = p.place_id
  UNION ALL
  SELECT ST_PointOnSurface(c.geom) FROM commune c
  WHERE p.place_type = 'commune' AND c.insee = p.place_id
) g ON true
ORDER BY scope.is_example, scope.code, p.place_type, p.place_id
LIMIT 1000
