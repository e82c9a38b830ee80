-- ZAN accounts per commune, EPCI, SCoT, Territoire d'industrie (both programmes), département
-- and region, by the reference tool's method (Mon Diagnostic Artificialisation, MTES-MCT/sparte,
-- dbt model land_trajectoires): each territory's own reference (ENAF consumed 2011-2020, summed
-- over its communes) x (1 - reduction), raised to 1 ha only when below 1 ha (`guaranteed`).
-- The 2023 law's communal guarantee pooled over the communes is its own, named figure.
-- territory_type is the API's kind (/territories/{kind}/{code}); membership is the one rule of
-- the view territory_commune. Rebuilt whole at every run: a few thousand rows per region.

-- Every territory with its member communes; communes known only from their ENAF flows (absent
-- from `commune`) still get a commune account.
CREATE TEMP TABLE zan_member ON COMMIT DROP AS
SELECT kind AS territory_type, code AS territory_code, insee FROM territory_commune
UNION
SELECT DISTINCT 'commune', f.insee, f.insee FROM enaf_flow f WHERE f.destination = 'total';

CREATE INDEX ON zan_member (insee);

ANALYZE zan_member;

-- Each commune's yearly flows (one row per commune and year) with their source file.
CREATE TEMP TABLE zan_flow ON COMMIT DROP AS
SELECT f.insee, f.year, f.area_m2, f.vintage,
    coalesce(regexp_replace(r.source, '^.*/', ''), 'inconnue') AS source
FROM enaf_flow f LEFT JOIN ingest_run r ON r.id = f.run_id
WHERE f.destination = 'total';

-- A commune's territorialised reduction: its own target, then its SCoT's, its EPCI's, its
-- département's, its region's, else the law's default.
CREATE TEMP TABLE zan_commune_target ON COMMIT DROP AS
SELECT DISTINCT ON (c.insee) c.insee, t.territory_type, t.territory_code, t.reduction_pct,
    t.document
FROM (SELECT DISTINCT insee FROM zan_flow) c
LEFT JOIN commune cm ON cm.insee = c.insee
LEFT JOIN scot_membre sm ON sm.insee = c.insee
JOIN zan_target t ON (t.territory_type, t.territory_code) IN (
    ('commune', c.insee), ('scot', sm.scot_id), ('epci', cm.siren_epci),
    ('departement', cm.dep), ('region', cm.reg))
ORDER BY c.insee, array_position(
    ARRAY['commune', 'scot', 'epci', 'departement', 'region'], t.territory_type);

-- Per territory and member commune: the commune's reference, consumption and envelope (the
-- pooled guarantee raises each commune's to 1 ha).
CREATE TEMP TABLE zan_commune ON COMMIT DROP AS
SELECT f.insee,
    sum(f.area_m2) FILTER (
        WHERE f.year BETWEEN %(reference_first_year)s AND %(reference_last_year)s
    ) / %(m2_per_ha)s AS reference_ha,
    coalesce(sum(f.area_m2) FILTER (
        WHERE f.year BETWEEN %(period_first_year)s AND %(period_last_year)s), 0
    ) / %(m2_per_ha)s AS consumed_ha,
    coalesce(t.reduction_pct, %(default_reduction_pct)s) AS reduction_pct
FROM zan_flow f LEFT JOIN zan_commune_target t ON t.insee = f.insee
GROUP BY f.insee, t.reduction_pct;

CREATE TEMP TABLE zan_total ON COMMIT DROP AS
SELECT m.territory_type, m.territory_code,
    count(DISTINCT m.insee) AS communes,
    count(DISTINCT z.insee) AS communes_with_flows,
    coalesce(sum(z.reference_ha), 0) AS reference_ha,
    coalesce(sum(z.consumed_ha), 0) AS consumed_ha,
    -- Over the communes with flows only: one without is not known to have consumed anything.
    sum(greatest(coalesce(z.reference_ha, 0) * (1 - z.reduction_pct / 100.0),
                 %(commune_guarantee_ha)s)) FILTER (WHERE z.insee IS NOT NULL)
        AS pooled_envelope_ha
FROM zan_member m LEFT JOIN zan_commune z ON z.insee = m.insee
GROUP BY m.territory_type, m.territory_code
HAVING count(z.insee) > 0;

-- Yearly series: summed over the territory's communes first, then one JSON object per territory.
CREATE TEMP TABLE zan_year ON COMMIT DROP AS
SELECT y.territory_type, y.territory_code,
    jsonb_object_agg(y.year::text, round((y.m2 / %(m2_per_ha)s)::numeric, 4)) AS years,
    max(y.year) FILTER (WHERE y.year >= %(period_first_year)s) AS last_year
FROM (
    SELECT m.territory_type, m.territory_code, f.year, sum(f.area_m2) AS m2
    FROM zan_member m JOIN zan_flow f ON f.insee = m.insee
    GROUP BY m.territory_type, m.territory_code, f.year
) y
GROUP BY y.territory_type, y.territory_code;

-- Where each account's flows come from: file, vintage, communes and years covered.
CREATE TEMP TABLE zan_source ON COMMIT DROP AS
SELECT s.territory_type, s.territory_code,
    jsonb_agg(jsonb_build_object('name', s.source, 'vintage', s.vintage, 'communes', s.communes,
        'first_year', s.first_year, 'last_year', s.last_year) ORDER BY s.source) AS sources,
    string_agg(DISTINCT s.vintage, ', ') AS vintage
FROM (
    SELECT m.territory_type, m.territory_code, f.source, f.vintage,
        count(DISTINCT f.insee) AS communes, min(f.year) AS first_year, max(f.year) AS last_year
    FROM zan_member m JOIN zan_flow f ON f.insee = m.insee
    GROUP BY m.territory_type, m.territory_code, f.source, f.vintage
) s
GROUP BY s.territory_type, s.territory_code;

DELETE FROM zan_account;

-- A commune's target is its chain's (zan_commune_target); any other territory's is its own
-- zan_target row, else the law's default (a commune's target never sets its EPCI's).
INSERT INTO zan_account (
    territory_type, territory_code, nom, reference_ha, reduction_pct, envelope_ha,
    envelope_with_commune_guarantees_ha, consumed_ha, remaining_ha, projection_2031_ha, guaranteed,
    pene_ha, years, vintage, communes, communes_with_flows, last_year, sources, target,
    computed_at
)
SELECT a.territory_type, a.territory_code, n.nom, a.reference_ha, a.reduction_pct,
    greatest(a.raw_envelope_ha, %(commune_guarantee_ha)s),
    a.pooled_envelope_ha,
    a.consumed_ha,
    greatest(a.raw_envelope_ha, %(commune_guarantee_ha)s) - a.consumed_ha,
    -- The observed pace since 2021 over the whole period (2021-2030: ten years).
    CASE WHEN y.last_year IS NOT NULL THEN a.consumed_ha
        / (y.last_year - %(period_first_year)s + 1) * %(period_length)s END,
    a.raw_envelope_ha < %(commune_guarantee_ha)s,
    NULL, y.years, s.vintage, a.communes, a.communes_with_flows, y.last_year, s.sources,
    a.target, now()
FROM (
    SELECT z.*, tg.reduction_pct, tg.target,
        z.reference_ha * (1 - tg.reduction_pct / 100.0) AS raw_envelope_ha
    FROM zan_total z
    LEFT JOIN zan_commune_target ct ON z.territory_type = 'commune' AND ct.insee = z.territory_code
    LEFT JOIN zan_target own ON z.territory_type <> 'commune'
        AND own.territory_type = z.territory_type AND own.territory_code = z.territory_code
    CROSS JOIN LATERAL (
        SELECT coalesce(ct.reduction_pct, own.reduction_pct, %(default_reduction_pct)s)
                AS reduction_pct,
            CASE WHEN coalesce(ct.reduction_pct, own.reduction_pct) IS NULL THEN
                jsonb_build_object('reduction_pct', %(default_reduction_pct)s, 'source', 'law',
                    'document', 'loi Climat et résilience (2021), art. 191')
            ELSE jsonb_build_object(
                'reduction_pct', coalesce(ct.reduction_pct, own.reduction_pct),
                'source', 'zan_target',
                'territory_type', coalesce(ct.territory_type, own.territory_type),
                'territory_code', coalesce(ct.territory_code, own.territory_code),
                'document', coalesce(ct.document, own.document)) END AS target
    ) tg
) a
JOIN zan_year y ON y.territory_type = a.territory_type AND y.territory_code = a.territory_code
LEFT JOIN zan_source s ON s.territory_type = a.territory_type
    AND s.territory_code = a.territory_code
LEFT JOIN LATERAL (
    SELECT CASE a.territory_type
        WHEN 'commune' THEN (SELECT nom FROM commune WHERE insee = a.territory_code)
        WHEN 'epci' THEN (SELECT nom FROM epci WHERE siren = a.territory_code)
        WHEN 'departement' THEN (SELECT nom FROM departement WHERE code = a.territory_code)
        WHEN 'region' THEN (SELECT nom FROM region WHERE code = a.territory_code)
        WHEN 'scot' THEN (SELECT max(nom_scot) FROM scot_membre WHERE scot_id = a.territory_code)
        ELSE (SELECT lib FROM territoire
              WHERE 'territoire-' || programme = a.territory_type AND id_ti = a.territory_code)
    END AS nom
) n ON true;
