-- Territoires d'industrie without a polygon perimeter (published as points or geometry
-- collections, or without geometry) get the union of their member communes' polygons: EPCI
-- members through commune.siren_epci, commune (COM) members through commune.siren. {stage}
-- is the perimeters' staging table (a perimeters load) or territoire (after a members or a
-- communes load: only the perimeters still missing; see ingest.layers.territoires). Only complete perimeters are built:
-- while one member has no commune loaded (or is an EPT, which no table maps to communes), the
-- perimeter stays NULL rather than look whole. rebuilt_perimeter lists the ones filled.
CREATE TEMP TABLE IF NOT EXISTS rebuilt_perimeter (programme smallint, id_ti text)
ON COMMIT DROP;

WITH member AS (
    SELECT m.programme, m.id_ti, m.siren, m.nature
    FROM territoire_membre m
    JOIN {stage} t ON t.programme = m.programme AND t.id_ti = m.id_ti
    WHERE t.geom IS NULL
),
member_commune AS (
    SELECT m.programme, m.id_ti, m.siren, c.insee
    FROM member m JOIN commune c ON c.siren_epci = m.siren
    WHERE m.nature = 'EPCI'
    UNION
    SELECT m.programme, m.id_ti, m.siren, c.insee
    FROM member m JOIN commune c ON c.siren = m.siren
    WHERE m.nature = 'COM'
),
complete AS (
    SELECT mc.programme, mc.id_ti
    FROM member_commune mc
    GROUP BY mc.programme, mc.id_ti
    HAVING count(DISTINCT mc.siren) = (
        SELECT count(*) FROM member m WHERE m.programme = mc.programme AND m.id_ti = mc.id_ti
    )
),
perimeter AS (
    SELECT mc.programme, mc.id_ti,
        ST_Multi(ST_CollectionExtract(ST_Union(c.geom ORDER BY c.insee), 3)) AS geom
    FROM (SELECT DISTINCT programme, id_ti, insee FROM member_commune) mc
    JOIN complete USING (programme, id_ti)
    JOIN commune c ON c.insee = mc.insee
    GROUP BY mc.programme, mc.id_ti
),
filled AS (
    UPDATE {stage} t SET geom = p.geom
    FROM perimeter p
    WHERE t.geom IS NULL AND t.programme = p.programme AND t.id_ti = p.id_ti
    RETURNING t.programme, t.id_ti
)
INSERT INTO rebuilt_perimeter SELECT programme, id_ti FROM filled;
