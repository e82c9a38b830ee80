-- Requirement matching (POST /search/match): every candidate site (not withdrawn) against an
-- investor's project profile, in one statement. A NULL bound is a criterion not asked.
-- Each asked criterion is 'met', 'miss' or 'unknown' (the site has no value for it: neither
-- met nor missed; never a default in its place). gap: how far a miss is, in the criterion's
-- unit; rel_gap: that gap over the wanted value, capped at 1 (a yes/no miss counts 1).
-- fit = 100 * weights met / weights asked; ranked confirmed first, then fit, then the sum of
-- the misses' rel_gap (the closer, the higher).
WITH offer AS (
    SELECT s.id, s.nom, s.insee, c.nom AS commune, c.reg,
           coalesce(sc.contiguous_ha, s.surface_dispo_ha) AS contiguous_ha,
           el.quantity AS electricity_mw, wa.quantity AS water_m3_day,
           sc.rail_km, sc.port_km, rd.time_to_permit_months, rd.level AS readiness_level,
           -- The computed checklist items as the readiness stored them (an override wins).
           (SELECT e->>'value' FROM jsonb_array_elements(rd.items) e
            WHERE e->>'item' = 'technological_risk') AS technological,
           (SELECT nullif(e->>'value', 'none') FROM jsonb_array_elements(rd.items) e
            WHERE e->>'item' = 'plu_compatibility') AS zoning,
           (s.valid_until IS NULL OR s.valid_until < now()) AS a_confirmer, s.confirmed_at,
           ST_AsGeoJSON(ST_Transform(s.geom, 4326), 6)::json AS geometry, s.location_precision
    FROM site s
    LEFT JOIN site_score sc ON sc.site_id = s.id
    LEFT JOIN commune c ON c.insee = s.insee
    LEFT JOIN site_readiness rd ON rd.site_id = s.id
    LEFT JOIN site_checklist el ON el.site_id = s.id AND el.item = 'electricity'
    LEFT JOIN site_checklist wa ON wa.site_id = s.id AND wa.item = 'water'
    WHERE s.withdrawn_at IS NULL
),
criterion AS (
    SELECT o.id, k.code, k.weight, k.wanted, k.offered,
           CASE WHEN k.ok THEN 'met' WHEN NOT k.ok THEN 'miss' ELSE 'unknown' END AS state,
           CASE WHEN NOT k.ok THEN k.gap END AS gap,
           CASE WHEN NOT k.ok THEN least(coalesce(k.rel_gap, 1), 1) END AS rel_gap
    FROM offer o
    CROSS JOIN LATERAL (VALUES
        ('contiguous_ha', %(w_contiguous_ha)s::float8, to_jsonb(%(contiguous_ha)s::float8),
         to_jsonb(o.contiguous_ha), o.contiguous_ha >= %(contiguous_ha)s,
         %(contiguous_ha)s - o.contiguous_ha,
         (%(contiguous_ha)s - o.contiguous_ha) / nullif(%(contiguous_ha)s, 0)),
        ('electricity_mw', %(w_electricity_mw)s, to_jsonb(%(electricity_mw)s::float8),
         to_jsonb(o.electricity_mw), o.electricity_mw >= %(electricity_mw)s,
         %(electricity_mw)s - o.electricity_mw,
         (%(electricity_mw)s - o.electricity_mw) / nullif(%(electricity_mw)s, 0)),
        ('water_m3_day', %(w_water_m3_day)s, to_jsonb(%(water_m3_day)s::float8),
         to_jsonb(o.water_m3_day), o.water_m3_day >= %(water_m3_day)s,
         %(water_m3_day)s - o.water_m3_day,
         (%(water_m3_day)s - o.water_m3_day) / nullif(%(water_m3_day)s, 0)),
        ('rail_km', %(w_rail_km)s, to_jsonb(%(rail_max_km)s::float8), to_jsonb(o.rail_km),
         o.rail_km <= %(rail_max_km)s, o.rail_km - %(rail_max_km)s,
         (o.rail_km - %(rail_max_km)s) / nullif(%(rail_max_km)s, 0)),
        ('port_km', %(w_port_km)s, to_jsonb(%(port_max_km)s::float8), to_jsonb(o.port_km),
         o.port_km <= %(port_max_km)s, o.port_km - %(port_max_km)s,
         (o.port_km - %(port_max_km)s) / nullif(%(port_max_km)s, 0)),
        ('time_to_permit_months', %(w_time_to_permit_months)s,
         to_jsonb(%(max_time_to_permit_months)s::float8), to_jsonb(o.time_to_permit_months),
         o.time_to_permit_months <= %(max_time_to_permit_months)s,
         o.time_to_permit_months - %(max_time_to_permit_months)s,
         (o.time_to_permit_months - %(max_time_to_permit_months)s)
             / nullif(%(max_time_to_permit_months)s, 0)),
        ('region', %(w_region)s, to_jsonb(%(regions)s::text[]), to_jsonb(o.reg),
         o.reg = ANY(%(regions)s::text[]), NULL::float8, NULL::float8),
        -- Seveso: no technological-risk zone (PPRT) on the site and no residential (urban) zone.
        ('technological_risk', %(w_technological_risk)s,
         CASE WHEN %(seveso)s THEN to_jsonb('none'::text) END, to_jsonb(o.technological),
         o.technological = 'none', NULL, NULL),
        ('residential_zone', %(w_residential_zone)s,
         CASE WHEN %(seveso)s THEN to_jsonb('not_urban'::text) END, to_jsonb(o.zoning),
         o.zoning <> 'urban', NULL, NULL)
    ) k(code, weight, wanted, offered, ok, gap, rel_gap)
    WHERE k.wanted IS NOT NULL
),
fit AS (
    SELECT id,
           round((100 * sum(weight) FILTER (WHERE state = 'met')
                  / nullif(sum(weight), 0))::numeric, 1)::float8 AS fit,
           count(*) FILTER (WHERE state = 'miss') AS n_misses,
           coalesce(sum(rel_gap), 0) AS miss_gap,
           jsonb_agg(jsonb_build_object('code', code, 'state', state, 'wanted', wanted,
                                        'offered', offered, 'gap', gap, 'rel_gap', rel_gap)
                     ORDER BY weight DESC, code) AS criteria
    FROM criterion GROUP BY id
)
SELECT o.id, o.nom, o.insee, o.commune, o.reg, o.contiguous_ha, o.readiness_level,
       o.time_to_permit_months, o.a_confirmer, o.confirmed_at, o.location_precision, o.geometry,
       coalesce(f.fit, 100) AS fit, coalesce(f.n_misses, 0) AS n_misses,
       coalesce(f.miss_gap, 0) AS miss_gap, coalesce(f.criteria, '[]') AS criteria
FROM offer o LEFT JOIN fit f ON f.id = o.id
WHERE coalesce(f.n_misses, 0) <= %(max_misses)s
ORDER BY o.a_confirmer, coalesce(f.fit, 100) DESC, coalesce(f.miss_gap, 0), o.id
LIMIT %(limit)s
