-- After a COG history load: communes loaded before it that it says were merged or renumbered
-- since are dissolved into their current commune, as a communes load does in staging
-- (commune_dissolve.sql: same parts, same order, so reloading the communes changes nothing).
-- A current commune absent so far (a renumbering: 69159 -> 69114) takes the largest part's
-- attributes but neither its SIREN nor a COG edition: the next COG membership file sets them.
CREATE TEMP TABLE dissolved_commune ON COMMIT DROP AS
SELECT c.insee AS given, coalesce(a.insee, c.insee) AS insee
FROM commune c
LEFT JOIN commune_ancienne a ON a.insee_ancienne = c.insee
WHERE coalesce(a.insee, c.insee) IN (
    SELECT a2.insee FROM commune c2 JOIN commune_ancienne a2 ON a2.insee_ancienne = c2.insee
);

INSERT INTO commune AS t (insee, nom, dep, reg, siren_epci, population, geom, run_id, vintage)
SELECT DISTINCT ON (d.insee)
    d.insee, c.nom, c.dep, c.reg, c.siren_epci, u.population, u.geom, c.run_id, c.vintage
FROM dissolved_commune d
JOIN commune c ON c.insee = d.given
JOIN (
    SELECT d.insee, sum(x.population) AS population,
        ST_Multi(ST_CollectionExtract(ST_Union(x.geom ORDER BY d.given), 3)) AS geom
    FROM dissolved_commune d
    JOIN commune x ON x.insee = d.given
    GROUP BY d.insee
) u ON u.insee = d.insee
ORDER BY d.insee, d.given = d.insee DESC, foncier_area_m2(c.geom) DESC, d.given
ON CONFLICT (insee) DO UPDATE SET geom = EXCLUDED.geom, population = EXCLUDED.population;

DELETE FROM commune c
USING dissolved_commune d
WHERE c.insee = d.given AND d.given <> d.insee;
