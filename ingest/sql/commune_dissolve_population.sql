-- Before commune_dissolve.sql, when the file has populations: every part of a commune merged
-- since gets the sum of its parts' populations (as the file counted them), so the row kept
-- by the dissolve carries the current commune's.
WITH part AS (
    SELECT s._feature_index, coalesce(a.insee, s.insee) AS insee, s.population
    FROM {stage} s
    LEFT JOIN commune_ancienne a ON a.insee_ancienne = s.insee
),
total AS (
    SELECT insee, sum(population) AS population FROM part GROUP BY insee HAVING count(*) > 1
)
UPDATE {stage} s SET population = t.population
FROM part p
JOIN total t ON t.insee = p.insee
WHERE s._feature_index = p._feature_index;
