-- The ZAN envelope simulator (POST /territories/{kind}/{code}/simulate): one statement, set-based.
-- Projects (a jsonb array) are resolved to what they cover (a site, a land unit, parcels or a
-- drawn polygon), costed from the land status written by `foncier score` (known cost; unknown
-- land as a range, 0 to its whole area), spread over their years, and added to the territory's
-- observed ENAF consumption (zan_account.years). The answer is one row of jsonb: the account,
-- the projects as resolved, the years 2021-2050 with cumulative sums per decade, and, per decade
-- and envelope, the margin and the year the envelope runs out. PENE projects are counted apart
-- (the national envelope), never in the territory's consumption.
WITH account AS (
    SELECT a.reference_ha, a.reduction_pct, a.envelope_ha, a.envelope_with_commune_guarantees_ha,
        a.consumed_ha, a.last_year, a.years, a.target, a.vintage, a.sources, a.guaranteed,
        a.computed_at, coalesce(a.target ->> 'source' = 'zan_target', false) AS territorialised
    FROM zan_account a
    WHERE a.territory_type = %(kind)s AND a.territory_code = %(code)s
),
com AS (
    SELECT insee FROM territory_commune WHERE kind = %(kind)s AND code = %(code)s
),
input AS (
    SELECT * FROM jsonb_to_recordset(%(projects)s::jsonb) AS p(
        idx integer, site_id text, land_unit_id bigint, parcels text[], geometry jsonb,
        start_year integer, share double precision, duration_years integer, pene boolean)
),
-- A site: its score's cost (a brownfield costs 0; unknown land is NULL, bounded by max), else
-- unknown up to its surface.
site_piece AS (
    SELECT i.idx, s.id AS found_id, s.insee, coalesce(s.surface_dispo_ha, s.surface_ha) AS area_ha,
        coalesce(sc.zan_cost_ha, 0) AS cost_min_ha,
        coalesce(sc.zan_cost_ha, sc.zan_cost_max_ha, s.surface_dispo_ha, s.surface_ha)
            AS cost_max_ha,
        coalesce(sc.land_status, 'unknown') AS land_status, s.pene AS site_pene
    FROM input i
    LEFT JOIN site s ON s.id = i.site_id
    LEFT JOIN site_score sc ON sc.site_id = s.id
    WHERE i.site_id IS NOT NULL
),
-- A land unit whose parcels all carry its id in parcel_score (what `foncier score` writes with
-- the unit): its area (the sum of its parcels', land_unit.area_ha) and its costs and statuses
-- from one index range scan of parcel_score, no parcel geometry read but for a cost bound the
-- score left NULL. Units whose scores do not all name them (hand-made rows, a unit with an
-- unscored parcel) take the per-parcel path below, as lists of parcels do.
unit AS (
    SELECT i.idx, u.id, u.area_ha, cardinality(u.idus) AS n_idus, a.*
    FROM input i JOIN land_unit u ON u.id = i.land_unit_id
    CROSS JOIN LATERAL (SELECT count(*) AS n,
        bool_and(s0.insee IN (SELECT insee FROM com)) AS inside,
        sum(coalesce(s0.zan_cost_ha, 0)) AS cost_min_ha,
        sum(coalesce(s0.zan_cost_ha, s0.zan_cost_max_ha, (SELECT foncier_area_m2(p0.geom)
            FROM parcel p0 WHERE p0.idu = s0.idu) / %(m2_per_ha)s)) AS cost_max_ha,
        jsonb_strip_nulls(jsonb_build_object(
            'artificialised', nullif(count(*) FILTER (WHERE s0.land_status = 'artificialised'), 0),
            'enaf', nullif(count(*) FILTER (WHERE s0.land_status = 'enaf'), 0),
            'unknown', nullif(count(*) FILTER (WHERE s0.land_status = 'unknown'), 0)))
            AS statuses
        FROM parcel_score s0 WHERE s0.land_unit_id = u.id) a
),
-- A land unit's parcels (other units) or a list of parcels: each parcel's cost, unknown up to
-- its area.
parcel_ids AS (
    SELECT i.idx, x.idu, true AS listed FROM input i, unnest(i.parcels) AS x(idu)
    WHERE i.parcels IS NOT NULL
    UNION ALL
    SELECT i.idx, x.idu, false FROM input i JOIN land_unit u ON u.id = i.land_unit_id
        JOIN unit ON unit.idx = i.idx AND unit.n <> unit.n_idus,
        unnest(u.idus) AS x(idu)
),
parcel_piece AS (
    SELECT x.idx, x.idu, x.listed, p.idu AS found_id, p.insee, p.area_ha,
        coalesce(ps.zan_cost_ha, 0) AS cost_min_ha,
        coalesce(ps.zan_cost_ha, ps.zan_cost_max_ha, p.area_ha) AS cost_max_ha,
        coalesce(ps.land_status, 'unknown') AS land_status
    FROM parcel_ids x
    -- One primary-key lookup per listed parcel (OFFSET 0 keeps the planner from hashing the
    -- whole parcel table for a few hundred ids); its area computed once.
    LEFT JOIN LATERAL (SELECT p0.idu, p0.insee, foncier_area_m2(p0.geom) / %(m2_per_ha)s
        AS area_ha FROM parcel p0 WHERE p0.idu = x.idu OFFSET 0) p ON true
    LEFT JOIN LATERAL (SELECT s0.zan_cost_ha, s0.zan_cost_max_ha, s0.land_status
        FROM parcel_score s0 WHERE s0.idu = x.idu OFFSET 0) ps ON true
),
-- Per project, once: parcels not found, all inside the territory, area, cost bounds, statuses.
parcel_agg AS (
    SELECT pp.idx,
        array_agg(pp.idu ORDER BY pp.idu) FILTER (WHERE pp.found_id IS NULL AND pp.listed)
            AS missing,
        bool_and(pp.insee IN (SELECT insee FROM com)) FILTER (WHERE pp.found_id IS NOT NULL)
            AS inside,
        sum(pp.area_ha) AS area_ha, sum(pp.cost_min_ha) AS cost_min_ha,
        sum(pp.cost_max_ha) AS cost_max_ha
    FROM parcel_piece pp GROUP BY pp.idx
),
parcel_statuses AS (
    SELECT st.idx, jsonb_object_agg(st.land_status, st.n) AS statuses
    FROM (SELECT pp.idx, pp.land_status, count(*) AS n FROM parcel_piece pp
          WHERE pp.found_id IS NOT NULL GROUP BY pp.idx, pp.land_status) st
    GROUP BY st.idx
),
-- A drawn polygon (CRS84): the parcels it covers, each for the share of it covered; the part
-- covered by no parcel (roads, non-cadastral land) is unknown up to its area.
poly AS (
    SELECT i.idx, g.geom, foncier_area_m2(g.geom) / %(m2_per_ha)s AS area_ha
    FROM input i
    CROSS JOIN LATERAL (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Transform(
        ST_SetSRID(ST_GeomFromGeoJSON(i.geometry::text), 4326), 2154)), 3)) AS geom) g
    WHERE i.geometry IS NOT NULL
),
poly_piece AS (
    SELECT g.idx, p.insee, c.frac * c.area_ha AS area_ha,
        c.frac * coalesce(ps.zan_cost_ha, 0) AS cost_min_ha,
        c.frac * coalesce(ps.zan_cost_ha, ps.zan_cost_max_ha, c.area_ha) AS cost_max_ha,
        coalesce(ps.land_status, 'unknown') AS land_status
    FROM poly g
    -- The index: the polygon is already in 2154, the column is never transformed.
    JOIN parcel p ON p.geom && g.geom AND ST_Intersects(p.geom, g.geom)
    LEFT JOIN LATERAL (SELECT s0.zan_cost_ha, s0.zan_cost_max_ha, s0.land_status
        FROM parcel_score s0 WHERE s0.idu = p.idu OFFSET 0) ps ON true
    -- A parcel inside the polygon is covered whole: no intersection to compute.
    CROSS JOIN LATERAL (SELECT foncier_area_m2(p.geom) / %(m2_per_ha)s AS area_ha,
        CASE WHEN ST_CoveredBy(p.geom, g.geom) THEN 1.0
            ELSE ST_Area(ST_Intersection(p.geom, g.geom)) / nullif(ST_Area(p.geom), 0) END
            AS frac) c
),
poly_insee AS (
    SELECT g.idx, array_agg(DISTINCT c.insee) AS insees
    FROM poly g JOIN commune c ON c.geom && g.geom AND ST_Intersects(c.geom, g.geom)
    GROUP BY g.idx
),
poly_total AS (
    SELECT g.idx, g.area_ha, coalesce(sum(pp.area_ha), 0) AS parcel_ha,
        coalesce(sum(pp.cost_min_ha), 0) AS cost_min_ha,
        coalesce(sum(pp.cost_max_ha), 0)
            + greatest(g.area_ha - coalesce(sum(pp.area_ha), 0), 0) AS cost_max_ha,
        count(pp.*) AS n_parcels,
        count(pp.*) FILTER (WHERE pp.land_status = 'unknown') AS n_unknown
    FROM poly g LEFT JOIN poly_piece pp ON pp.idx = g.idx
    GROUP BY g.idx, g.area_ha
),
-- One row per project: what it covers, whether it was found and is inside the territory.
resolved AS (
    SELECT i.idx, 'site' AS kind, i.site_id AS ref, sp.found_id IS NOT NULL AS found,
        ARRAY[]::text[] AS missing,
        sp.insee IS NOT NULL AND sp.insee IN (SELECT insee FROM com) AS inside,
        sp.area_ha, sp.cost_min_ha, sp.cost_max_ha,
        jsonb_build_object(sp.land_status, 1) AS statuses, sp.site_pene AS source_pene
    FROM input i JOIN site_piece sp ON sp.idx = i.idx
    UNION ALL
    SELECT i.idx, CASE WHEN i.parcels IS NOT NULL THEN 'parcels' ELSE 'land_unit' END,
        coalesce(i.land_unit_id::text, array_to_string(i.parcels, ',')),
        CASE WHEN i.parcels IS NOT NULL THEN true
            ELSE EXISTS (SELECT 1 FROM land_unit u WHERE u.id = i.land_unit_id) END,
        coalesce(pa.missing, ARRAY[]::text[]), coalesce(fu.inside, pa.inside, false),
        coalesce(fu.area_ha, pa.area_ha), coalesce(fu.cost_min_ha, pa.cost_min_ha, 0),
        coalesce(fu.cost_max_ha, pa.cost_max_ha, 0),
        coalesce(fu.statuses, ps.statuses, '{}'::jsonb), NULL::boolean
    FROM input i
    LEFT JOIN parcel_agg pa ON pa.idx = i.idx
    LEFT JOIN parcel_statuses ps ON ps.idx = i.idx
    LEFT JOIN unit fu ON fu.idx = i.idx AND fu.n = fu.n_idus
    WHERE i.parcels IS NOT NULL OR i.land_unit_id IS NOT NULL
    UNION ALL
    SELECT i.idx, 'polygon', NULL, true, ARRAY[]::text[],
        coalesce((SELECT bool_or(x IN (SELECT insee FROM com)) FROM unnest(pi.insees) x), false),
        pt.area_ha, pt.cost_min_ha, pt.cost_max_ha,
        jsonb_build_object('parcels', pt.n_parcels, 'unknown', pt.n_unknown,
            'outside_parcels_ha', round(greatest(pt.area_ha - pt.parcel_ha, 0)::numeric, 4)),
        NULL::boolean
    FROM input i JOIN poly_total pt ON pt.idx = i.idx LEFT JOIN poly_insee pi ON pi.idx = i.idx
),
project AS (
    SELECT r.*, i.start_year, i.share, i.duration_years,
        coalesce(i.pene, r.source_pene, false) AS pene,
        r.cost_min_ha * i.share AS dev_min_ha, r.cost_max_ha * i.share AS dev_max_ha
    FROM resolved r JOIN input i ON i.idx = r.idx
),
-- Each project's cost spread evenly over its years.
project_year AS (
    SELECT p.idx, p.pene, y.year, p.dev_min_ha / p.duration_years AS min_ha,
        p.dev_max_ha / p.duration_years AS max_ha
    FROM project p,
        generate_series(p.start_year, p.start_year + p.duration_years - 1) AS y(year)
),
pace AS (
    SELECT CASE WHEN a.last_year >= %(first_year)s::int THEN
        a.consumed_ha / (a.last_year - %(first_year)s::int + 1) END AS ha_per_year
    FROM account a
),
year_row AS (
    SELECT y.year, (y.year - %(first_year)s::int) / %(period_length)s::int AS decade,
        CASE WHEN y.year <= a.last_year THEN (a.years ->> y.year::text)::double precision END
            AS observed_ha,
        CASE WHEN %(background)s = 'pace' AND y.year > coalesce(a.last_year, 0)
            AND y.year <= %(first_year)s::int + %(period_length)s::int - 1
            THEN coalesce(pc.ha_per_year, 0) ELSE 0 END AS background_ha,
        coalesce(sum(py.min_ha) FILTER (WHERE NOT py.pene), 0) AS projects_ha,
        coalesce(sum(py.max_ha) FILTER (WHERE NOT py.pene), 0) AS projects_worst_ha,
        coalesce(sum(py.min_ha) FILTER (WHERE py.pene), 0) AS pene_ha,
        coalesce(sum(py.max_ha) FILTER (WHERE py.pene), 0) AS pene_worst_ha
    FROM account a CROSS JOIN pace pc
    CROSS JOIN generate_series(%(first_year)s::int, %(horizon_year)s::int) AS y(year)
    LEFT JOIN project_year py ON py.year = y.year
    GROUP BY y.year, a.last_year, a.years, pc.ha_per_year
),
year_cum AS (
    SELECT r.*,
        sum(coalesce(r.observed_ha, 0) + r.background_ha + r.projects_ha)
            OVER w AS cumulative_ha,
        sum(coalesce(r.observed_ha, 0) + r.background_ha + r.projects_worst_ha)
            OVER w AS cumulative_worst_ha
    FROM year_row r
    WINDOW w AS (PARTITION BY r.decade ORDER BY r.year)
),
-- The envelopes of 2021-2030, halved per following decade (an assumption of the law's path).
envelope AS (
    SELECT e.name, d.decade, e.ha * power(0.5, d.decade) AS envelope_ha
    FROM account a
    CROSS JOIN LATERAL (VALUES
        ('law', greatest(a.reference_ha * (1 - %(law_reduction_pct)s / 100.0),
                         %(commune_guarantee_ha)s)),
        ('commune_guarantees', a.envelope_with_commune_guarantees_ha),
        ('territorialised', CASE WHEN a.territorialised THEN a.envelope_ha END)
    ) AS e(name, ha)
    CROSS JOIN generate_series(0, (%(horizon_year)s::int - %(first_year)s::int) / %(period_length)s::int)
        AS d(decade)
    WHERE e.ha IS NOT NULL
),
verdict AS (
    SELECT e.name, e.decade, e.envelope_ha,
        max(c.cumulative_ha) AS consumed_ha, max(c.cumulative_worst_ha) AS consumed_worst_ha,
        min(c.year) FILTER (WHERE c.cumulative_ha > e.envelope_ha) AS exhaustion_year,
        min(c.year) FILTER (WHERE c.cumulative_worst_ha > e.envelope_ha)
            AS exhaustion_year_worst,
        jsonb_agg(jsonb_build_object('year', c.year,
            'remaining_ha', e.envelope_ha - c.cumulative_ha,
            'remaining_worst_ha', e.envelope_ha - c.cumulative_worst_ha) ORDER BY c.year)
            AS remaining
    FROM envelope e JOIN year_cum c ON c.decade = e.decade
    GROUP BY e.name, e.decade, e.envelope_ha
)
SELECT
    (SELECT to_jsonb(a) - 'years' FROM account a) AS account,
    (SELECT count(*) FROM com) AS communes,
    (SELECT jsonb_agg(jsonb_build_object('idx', p.idx, 'kind', p.kind, 'ref', p.ref,
        'found', p.found, 'missing', p.missing, 'inside', p.inside, 'area_ha', p.area_ha,
        'cost_ha', p.cost_min_ha, 'cost_max_ha', p.cost_max_ha, 'statuses', p.statuses,
        'pene', p.pene, 'developed_ha', p.dev_min_ha, 'developed_max_ha', p.dev_max_ha)
        ORDER BY p.idx) FROM project p) AS projects,
    (SELECT jsonb_agg(to_jsonb(c) ORDER BY c.year) FROM year_cum c) AS years,
    (SELECT jsonb_agg(to_jsonb(v) ORDER BY v.decade, v.name) FROM verdict v) AS verdicts
