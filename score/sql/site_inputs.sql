-- Per-site inputs of the score. A site's footprint is its perimeter, else the union of its
-- parcels; a site known only by a point is checked at that point, and a site placed at its
-- commune's centre (location_precision = 'commune') is not checked against constraints or zoning.

CREATE TEMP TABLE site_base ON COMMIT DROP AS
SELECT s.id, s.nom, s.insee, cm.siren_epci, s.location_precision, s.cle_en_main, s.maturite, s.pene,
    coalesce(s.friche, false) AS friche_flag, s.surface_ha, s.surface_dispo_ha, s.geom, f.footprint,
    ST_Area(f.footprint) AS area_m2
FROM site s
JOIN score_scope sc ON sc.insee = s.insee
LEFT JOIN commune cm ON cm.insee = s.insee
CROSS JOIN LATERAL (
    SELECT coalesce(s.perimeter, (
        SELECT ST_Multi(ST_UnaryUnion(ST_Collect(p.geom)))
        FROM site_parcel sp JOIN parcel p ON p.idu = sp.idu WHERE sp.site_id = s.id
    )) AS footprint
) f;

CREATE TEMP TABLE site_overlap ON COMMIT DROP AS
SELECT b.id, c.kind, bool_or(c.hard) AS hard, max(c.weight) AS weight,
    CASE WHEN bool_or(b.footprint IS NULL) THEN 1.0
         ELSE least(1.0, sum(ST_Area(ST_Intersection(b.footprint, c.geom)))
                         / nullif(max(b.area_m2), 0)) END AS share
FROM site_base b
JOIN score_piece c ON c.geom && coalesce(b.footprint, b.geom)
    AND ST_Intersects(c.geom, coalesce(b.footprint, b.geom))
WHERE b.footprint IS NOT NULL OR b.location_precision <> 'commune'
GROUP BY b.id, c.kind;

-- Land status and cost: a brownfield (matched by location, flagged by its source, or named as a
-- former site by its source) costs 0; a site with parcels takes its parcels' status (unknown if
-- any of them is); a site with no parcel known, or placed at its commune, is unknown: its cost is
-- NULL, bounded by its surface.
CREATE TEMP TABLE site_input ON COMMIT DROP AS
SELECT x.*,
    cardinality(x.hard_kinds) > 0 AS excluded,
    CASE WHEN x.brownfield THEN 'artificialised'
         WHEN x.n_parcels > 0 AND x.n_unknown = 0 AND x.parcel_cost_ha = 0 THEN 'artificialised'
         WHEN x.n_parcels > 0 AND x.n_unknown = 0 THEN 'enaf'
         ELSE 'unknown' END AS land_status,
    CASE WHEN x.brownfield THEN jsonb_build_object('evidence', 'brownfield',
             'source', CASE WHEN x.friche_flag THEN 'site' WHEN x.friche_id IS NOT NULL
                            THEN 'friche' ELSE 'site_name' END, 'friche', x.friche_id)
         WHEN x.n_parcels > 0 THEN jsonb_build_object('evidence', 'parcels',
             'parcels', x.n_parcels, 'parcels_unknown', x.n_unknown)
         WHEN x.location_precision = 'commune' THEN jsonb_build_object('evidence', 'none',
             'location', 'commune')
         ELSE jsonb_build_object('evidence', 'none') END AS land_evidence,
    CASE WHEN x.brownfield THEN 0
         WHEN x.n_parcels > 0 AND x.n_unknown = 0 THEN x.parcel_cost_ha END AS cost_ha,
    CASE WHEN x.brownfield THEN 0
         WHEN x.n_parcels > 0 THEN x.parcel_cost_max_ha
         ELSE coalesce(x.surface_dispo_ha, x.surface_ha, x.area_m2 / %(m2_per_ha)s) END
        AS cost_max_ha,
    a.remaining_ha,
    coalesce(x.unit_ha, x.surface_dispo_ha, x.surface_ha, x.area_m2 / %(m2_per_ha)s)
        AS contiguous_ha,
    CASE WHEN coalesce(x.unit_ha, x.surface_dispo_ha, x.surface_ha, x.area_m2) IS NULL
         THEN 'unknown' ELSE 'known' END AS size_state,
    x.footprint IS NOT NULL OR x.location_precision <> 'commune' AS constraints_known,
    coalesce(mat.value, %(maturity_unknown)s) AS maturity_value,
    mat.value IS NOT NULL AS maturity_known
FROM (
    SELECT b.id AS key, b.*, z.zone_class,
        (b.friche_flag OR fr.site_id IS NOT NULL OR b.nom ~* %(site_brownfield_pattern)s)
            AS brownfield,
        fr.site_id AS friche_id,
        b.cle_en_main AS turnkey,
        coalesce(o.shares, '{}'::jsonb) AS shares,
        coalesce(o.hard_kinds, '{}') AS hard_kinds,
        coalesce(o.penalty, 0) AS penalty,
        coalesce(sp.n, 0) AS n_parcels, coalesce(sp.n_unknown, 0) AS n_unknown,
        sp.cost_ha AS parcel_cost_ha, sp.cost_max_ha AS parcel_cost_max_ha,
        u.unit_ha
    FROM site_base b
    LEFT JOIN LATERAL (
        SELECT z.zone_class FROM plu_zone z
        WHERE b.location_precision <> 'commune'
          AND z.geom && coalesce(ST_PointOnSurface(b.footprint), b.geom)
          AND ST_Intersects(z.geom, coalesce(ST_PointOnSurface(b.footprint), b.geom))
        ORDER BY z.id LIMIT 1
    ) z ON true
    LEFT JOIN LATERAL (
        SELECT f.site_id FROM friche f
        WHERE b.location_precision <> 'commune'
          AND f.perimeter && coalesce(b.footprint, b.geom)
          AND ST_Intersects(f.perimeter, coalesce(b.footprint, b.geom)) LIMIT 1
    ) fr ON true
    LEFT JOIN (
        SELECT id, jsonb_object_agg(kind, round(share::numeric, 4)) AS shares,
            array_agg(kind ORDER BY kind) FILTER (WHERE hard AND share >= %(exclusion_min_share)s)
                AS hard_kinds,
            sum(weight * share) AS penalty
        FROM site_overlap GROUP BY id
    ) o ON o.id = b.id
    LEFT JOIN (
        SELECT i.site_id, count(*) AS n,
            count(*) FILTER (WHERE i.land_status = 'unknown') AS n_unknown,
            sum(i.cost_ha) AS cost_ha, sum(i.cost_max_ha) AS cost_max_ha
        FROM score_input i WHERE i.site_id IS NOT NULL
        GROUP BY i.site_id
    ) sp ON sp.site_id = b.id
    LEFT JOIN LATERAL (
        SELECT max(ST_Area(ST_Intersection(lu.geom, b.footprint))) / %(m2_per_ha)s AS unit_ha
        FROM land_unit lu
        WHERE b.footprint IS NOT NULL AND lu.geom && b.footprint
          AND ST_Intersects(lu.geom, b.footprint)
    ) u ON true
) x
LEFT JOIN zan_account a ON a.territory_type = 'epci' AND a.territory_code = x.siren_epci
LEFT JOIN LATERAL (
    SELECT m.value FROM unnest(%(maturity_patterns)s::text[], %(maturity_values)s::float8[])
        WITH ORDINALITY AS m(pattern, value, n)
    WHERE x.maturite ~* m.pattern ORDER BY m.n LIMIT 1
) mat ON true;
