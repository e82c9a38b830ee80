-- Communes merged or renumbered since the file's edition (the COG history, commune_ancienne)
-- are dissolved into their current commune before the merge: one row per current code, the
-- union of the polygons. The row kept is the one that already had the current code (the
-- chef-lieu), else the largest; it carries its name until a COG file names it (below).
-- {stage} holds the file's communes, already made valid; _feature_index is unique in it.
CREATE TEMP TABLE dissolved_commune ON COMMIT DROP AS
SELECT s._feature_index, s.insee AS given, coalesce(a.insee, s.insee) AS insee
FROM {stage} s
LEFT JOIN commune_ancienne a ON a.insee_ancienne = s.insee
WHERE coalesce(a.insee, s.insee) IN (
    SELECT a2.insee FROM {stage} s2 JOIN commune_ancienne a2 ON a2.insee_ancienne = s2.insee
);

CREATE TEMP TABLE dissolved_keep ON COMMIT DROP AS
SELECT DISTINCT ON (d.insee) d.insee, d._feature_index AS keep
FROM dissolved_commune d
JOIN {stage} s ON s._feature_index = d._feature_index
ORDER BY d.insee, d.given = d.insee DESC, foncier_area_m2(s.geom) DESC, d.given;

-- In the order of the old codes: the same parts give the same polygon at every load.
UPDATE {stage} s SET insee = k.insee, geom = u.geom
FROM dissolved_keep k
JOIN (
    SELECT d.insee, ST_Multi(ST_CollectionExtract(ST_Union(x.geom ORDER BY d.given), 3)) AS geom
    FROM dissolved_commune d
    JOIN {stage} x ON x._feature_index = d._feature_index
    GROUP BY d.insee
) u ON u.insee = k.insee
WHERE s._feature_index = k.keep;

DELETE FROM {stage} s
USING dissolved_commune d
WHERE d._feature_index = s._feature_index
  AND s._feature_index NOT IN (SELECT keep FROM dissolved_keep);

-- A commune named by a COG file (cog_vintage set) keeps that name: a polygon file of an
-- older edition never renames Oullins-Pierre-Bénite back to Oullins.
UPDATE {stage} s SET nom = t.nom
FROM commune t
WHERE t.insee = s.insee AND t.cog_vintage IS NOT NULL AND s.nom IS DISTINCT FROM t.nom;
