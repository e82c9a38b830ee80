-- BD TOPO buildings carry no commune: each takes the loaded commune under its point on surface
-- (always inside the polygon, unlike its centroid; the first by code where communes overlap).
-- A building whose point lies in no loaded commune keeps NULL: the layer's check quarantines it.
UPDATE {stage} s SET insee = (
    SELECT c.insee FROM commune c
    WHERE c.geom && ST_PointOnSurface(s.geom) AND ST_Intersects(c.geom, ST_PointOnSurface(s.geom))
    ORDER BY c.insee
    LIMIT 1
);

