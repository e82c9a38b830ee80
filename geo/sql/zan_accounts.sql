-- ZAN accounts per commune, EPCI, Territoire d'industrie (both programmes), département, region.
-- territory_type is one of commune, epci, territoire-2018, territoire-2023, departement, region:
-- the API's territory kinds (/territories/{kind}/{code}), so it reads them without mapping.
-- Rebuilt whole at every run: a few thousand rows per region, and aggregates need every commune.

-- Which communes belong to which territory (one row per territory and member commune).
CREATE TEMP TABLE zan_member ON COMMIT DROP AS
SELECT 'commune'::text AS territory_type, c.insee AS territory_code, c.nom, c.insee FROM commune c
UNION ALL
SELECT 'epci', c.siren_epci, e.nom, c.insee
FROM commune c LEFT JOIN epci e ON e.siren = c.siren_epci WHERE c.siren_epci IS NOT NULL
UNION ALL
SELECT 'departement', c.dep, NULL, c.insee FROM commune c
UNION ALL
SELECT 'region', c.reg, NULL, c.insee FROM commune c WHERE c.reg IS NOT NULL
UNION
-- Territoires d'industrie: EPCI members through the commune -> EPCI table; commune and EPT
-- members (their SIREN is not an INSEE code) through the perimeter, where one is known.
SELECT 'territoire-' || t.programme, t.id_ti, t.lib, c.insee
FROM territoire t
JOIN territoire_membre m ON m.programme = t.programme AND m.id_ti = t.id_ti AND m.nature = 'EPCI'
JOIN commune c ON c.siren_epci = m.siren
UNION
SELECT 'territoire-' || t.programme, t.id_ti, t.lib, c.insee
FROM territoire t
JOIN commune c ON t.geom IS NOT NULL AND c.geom && t.geom
    AND ST_Intersects(t.geom, ST_PointOnSurface(c.geom))
WHERE EXISTS (
    SELECT 1 FROM territoire_membre m
    WHERE m.programme = t.programme AND m.id_ti = t.id_ti AND m.nature <> 'EPCI'
);

-- Each commune's reference, envelope (with the territorialised reduction and the guarantee) and
-- consumption. ENAF flows of communes missing from `commune` still get a commune account.
CREATE TEMP TABLE zan_commune ON COMMIT DROP AS
WITH flows AS (
    SELECT insee, year, area_m2, vintage FROM enaf_flow WHERE destination = 'total'
), c AS (
    SELECT insee,
        coalesce(sum(area_m2) FILTER (
            WHERE year BETWEEN %(reference_first_year)s AND %(reference_last_year)s), 0
        ) / %(m2_per_ha)s AS reference_ha,
        coalesce(sum(area_m2) FILTER (
            WHERE year BETWEEN %(period_first_year)s AND %(period_last_year)s), 0
        ) / %(m2_per_ha)s AS consumed_ha,
        count(DISTINCT year) FILTER (
            WHERE year BETWEEN %(period_first_year)s AND %(period_last_year)s) AS period_years,
        string_agg(DISTINCT vintage, ', ') AS vintage
    FROM flows GROUP BY insee
), r AS (
    SELECT c.*, cm.siren_epci, cm.dep, cm.reg,
        coalesce(tc.reduction_pct, te.reduction_pct, td.reduction_pct, tr.reduction_pct,
                 %(default_reduction_pct)s) AS reduction_pct
    FROM c
    LEFT JOIN commune cm ON cm.insee = c.insee
    LEFT JOIN zan_target tc ON tc.territory_type = 'commune' AND tc.territory_code = c.insee
    LEFT JOIN zan_target te ON te.territory_type = 'epci' AND te.territory_code = cm.siren_epci
    LEFT JOIN zan_target td ON td.territory_type = 'departement' AND td.territory_code = cm.dep
    LEFT JOIN zan_target tr ON tr.territory_type = 'region' AND tr.territory_code = cm.reg
)
SELECT r.*,
    r.reference_ha * (1 - r.reduction_pct / 100.0) AS raw_envelope_ha,
    greatest(r.reference_ha * (1 - r.reduction_pct / 100.0), %(commune_guarantee_ha)s) AS envelope_ha,
    r.reference_ha * (1 - r.reduction_pct / 100.0) < %(commune_guarantee_ha)s AS guaranteed
FROM r;

CREATE TEMP TABLE zan_year ON COMMIT DROP AS
SELECT m.territory_type, m.territory_code,
    jsonb_object_agg(y.year::text, round((y.m2 / %(m2_per_ha)s)::numeric, 4)) AS years
FROM (
    SELECT insee, year, area_m2 AS m2 FROM enaf_flow WHERE destination = 'total'
) y
JOIN (
    SELECT territory_type, territory_code, insee FROM zan_member
    UNION SELECT 'commune', insee, insee FROM zan_commune
) m ON m.insee = y.insee
GROUP BY m.territory_type, m.territory_code;

-- Aggregates are sums over member communes, so a territory's envelope includes its communes'
-- guarantees; its reduction_pct is the effective one (1 - envelope / reference).
DELETE FROM zan_account;

INSERT INTO zan_account (
    territory_type, territory_code, nom, reference_ha, reduction_pct, envelope_ha, consumed_ha,
    remaining_ha, projection_2031_ha, guaranteed, pene_ha, years, vintage, computed_at
)
SELECT a.territory_type, a.territory_code, a.nom, a.reference_ha,
    CASE WHEN a.territory_type = 'commune' THEN a.reduction_pct
         WHEN a.reference_ha > 0 THEN 100.0 * (1 - a.envelope_ha / a.reference_ha)
         ELSE a.reduction_pct END,
    a.envelope_ha, a.consumed_ha, a.envelope_ha - a.consumed_ha,
    CASE WHEN a.period_years > 0 THEN a.consumed_ha / a.period_years * %(period_length)s END,
    a.guaranteed, NULL, coalesce(y.years, '{}'::jsonb), a.vintage, now()
FROM (
    SELECT m.territory_type, m.territory_code, max(m.nom) AS nom,
        sum(z.reference_ha) AS reference_ha, avg(z.reduction_pct) AS reduction_pct,
        sum(z.envelope_ha) AS envelope_ha, sum(z.consumed_ha) AS consumed_ha,
        max(z.period_years) AS period_years, bool_or(z.guaranteed) AS guaranteed,
        string_agg(DISTINCT z.vintage, ', ') AS vintage
    FROM (
        SELECT territory_type, territory_code, nom, insee FROM zan_member
        WHERE territory_type <> 'commune'
        UNION ALL
        SELECT 'commune', z.insee, c.nom, z.insee
        FROM zan_commune z LEFT JOIN commune c ON c.insee = z.insee
    ) m
    JOIN zan_commune z ON z.insee = m.insee
    GROUP BY m.territory_type, m.territory_code
) a
LEFT JOIN zan_year y ON y.territory_type = a.territory_type AND y.territory_code = a.territory_code;
