-- Candidates for the ZAN simulator (GET /territories/{kind}/{code}/candidates): a territory's
-- sites and land units, not excluded, ranked by ZAN cost per hectare made available, brownfields
-- first, then known costs, then unknown land by its bound (0 to its whole area). Each row carries
-- the project a planner adds to a scenario in one click.
WITH com AS (
    SELECT insee FROM territory_commune WHERE kind = %(kind)s AND code = %(code)s
),
unit_cost AS (
    SELECT ps.land_unit_id, sum(coalesce(ps.zan_cost_ha, 0)) AS cost_ha,
        sum(coalesce(ps.zan_cost_ha, ps.zan_cost_max_ha)) AS cost_max_ha,
        count(*) FILTER (WHERE ps.land_status = 'unknown') AS n_unknown,
        bool_and(ps.land_status = 'artificialised') AS brownfield,
        max(ps.score) AS score
    FROM parcel_score ps
    WHERE ps.insee IN (SELECT insee FROM com) AND ps.land_unit_id IS NOT NULL
    GROUP BY ps.land_unit_id
),
candidate AS (
    SELECT 'site' AS kind, s.id AS id, s.nom AS name, s.insee, s.lib_com AS commune,
        coalesce(s.surface_dispo_ha, s.surface_ha) AS area_ha,
        coalesce(sc.land_status, 'unknown') AS land_status,
        CASE WHEN sc.site_id IS NOT NULL THEN sc.zan_cost_ha END AS cost_ha,
        coalesce(sc.zan_cost_ha, sc.zan_cost_max_ha, s.surface_dispo_ha, s.surface_ha)
            AS cost_max_ha,
        coalesce(sc.land_status = 'artificialised', false) AND coalesce(sc.zan_cost_ha, 1) = 0
            AS brownfield,
        s.pene, sc.score, jsonb_build_object('site_id', s.id) AS project
    FROM site s LEFT JOIN site_score sc ON sc.site_id = s.id
    WHERE s.insee IN (SELECT insee FROM com) AND NOT coalesce(sc.excluded, false)
    UNION ALL
    SELECT 'land_unit', u.id::text, NULL, u.insee, c.nom, u.area_ha,
        CASE WHEN uc.brownfield THEN 'artificialised' WHEN uc.n_unknown > 0 THEN 'unknown'
            ELSE 'enaf' END,
        CASE WHEN uc.n_unknown = 0 THEN uc.cost_ha END, uc.cost_max_ha,
        uc.brownfield, false, uc.score, jsonb_build_object('land_unit_id', u.id)
    FROM land_unit u JOIN unit_cost uc ON uc.land_unit_id = u.id
    LEFT JOIN commune c ON c.insee = u.insee
)
SELECT c.kind, c.id, c.name, c.insee, c.commune, c.area_ha, c.land_status, c.cost_ha,
    c.cost_max_ha, c.cost_ha / nullif(c.area_ha, 0) AS cost_per_ha,
    c.cost_max_ha / nullif(c.area_ha, 0) AS cost_max_per_ha, c.brownfield, c.pene, c.score,
    c.project
FROM candidate c
WHERE %(what)s IN ('all', c.kind)
ORDER BY c.brownfield DESC, (c.cost_ha IS NULL), coalesce(c.cost_ha, c.cost_max_ha)
    / nullif(c.area_ha, 0) NULLS LAST, c.area_ha DESC NULLS LAST, c.score DESC NULLS LAST, c.id
LIMIT %(limit)s
