-- Flows keyed by the code of a commune merged since (the COG history, commune_ancienne) go to
-- the current commune, summed with its own flows of the same year and destination.
-- remapped_enaf says which codes moved, and how many flow rows each had.
CREATE TEMP TABLE remapped_enaf ON COMMIT DROP AS
SELECT s.insee AS insee_ancienne, a.insee, count(*) AS flow_rows
FROM {stage} s
JOIN commune_ancienne a ON a.insee_ancienne = s.insee
GROUP BY s.insee, a.insee;

UPDATE {stage} s SET insee = r.insee
FROM remapped_enaf r
WHERE r.insee_ancienne = s.insee;

WITH summed AS (
    SELECT insee, year, destination, sum(area_m2) AS area_m2, min(ctid) AS keep
    FROM {stage}
    WHERE insee IN (SELECT insee FROM remapped_enaf)
    GROUP BY insee, year, destination
    HAVING count(*) > 1
),
gone AS (
    DELETE FROM {stage} s
    USING summed g
    WHERE s.insee = g.insee AND s.year = g.year AND s.destination = g.destination
      AND s.ctid <> g.keep
)
UPDATE {stage} s SET area_m2 = g.area_m2
FROM summed g
WHERE s.ctid = g.keep;
