-- Score and breakdown of every row of a metrics relation (parcels or sites). Each criterion has a
-- value in 0-1 and a weight in points; contribution = round(weight x value, 2) and the score is
-- the sum of the contributions, so a breakdown always adds up to its score. An excluded row
-- scores 0: its criteria keep their values but contribute nothing, and an `exclusion` entry
-- names the kinds that excluded it.
-- A view, not a table: the rows are computed once, while being inserted into the target.
CREATE TEMP VIEW {out} AS
WITH v AS (
    SELECT m.*,
        coalesce(zv.value, %(zoning_none)s) AS zoning_v,
        1.0 - least(1.0, m.penalty) AS constraints_v,
        CASE WHEN m.cost_ha = 0 OR m.pene THEN 1.0
             WHEN m.remaining_ha IS NULL THEN %(zan_unknown)s
             WHEN m.remaining_ha <= 0 THEN 0.0
             ELSE greatest(0.0, 1.0 - m.cost_ha / m.remaining_ha / %(full_penalty_share)s) END
            AS zan_v,
        least(1.0, greatest(0.0, (m.contiguous_ha - %(size_min_ha)s)
            / (%(size_target_ha)s - %(size_min_ha)s))) AS size_v,
        CASE WHEN m.brownfield THEN 1.0 ELSE 0.0 END AS brownfield_v,
        CASE WHEN m.turnkey THEN 1.0 ELSE 0.0 END AS turnkey_v,
        m.maturity_value AS maturity_v,
        CASE WHEN m.pene OR m.cost_ha = 0 THEN 0.0
             WHEN m.remaining_ha > 0 THEN m.cost_ha / m.remaining_ha END AS envelope_share
    FROM {metrics} m
    LEFT JOIN unnest(%(zone_classes)s::text[], %(zone_values)s::float8[]) AS zv(cls, value)
        ON zv.cls = m.zone_class
), c AS (
    SELECT v.*,
        CASE WHEN excluded THEN 0 ELSE round((%(w_zoning)s * zoning_v)::numeric, 2) END AS c_zoning,
        CASE WHEN excluded THEN 0 ELSE round((%(w_constraints)s * constraints_v)::numeric, 2) END
            AS c_constraints,
        CASE WHEN excluded THEN 0 ELSE round((%(w_zan)s * zan_v)::numeric, 2) END AS c_zan,
        CASE WHEN excluded THEN 0 ELSE round((%(w_size)s * size_v)::numeric, 2) END AS c_size,
        CASE WHEN excluded THEN 0 ELSE round((%(w_brownfield)s * brownfield_v)::numeric, 2) END
            AS c_brownfield,
        CASE WHEN excluded THEN 0 ELSE round((%(w_turnkey)s * turnkey_v)::numeric, 2) END
            AS c_turnkey,
        CASE WHEN excluded THEN 0 ELSE round((%(w_maturity)s * maturity_v)::numeric, 2) END
            AS c_maturity
    FROM v
)
SELECT c.*,
    (c_zoning + c_constraints + c_zan + c_size + c_brownfield + c_turnkey + c_maturity)::float8
        AS score,
    jsonb_build_array(
        jsonb_build_object('criterion', 'zoning', 'input', coalesce(zone_class, 'none'),
            'value', round(zoning_v::numeric, 4), 'weight', %(w_zoning)s, 'contribution', c_zoning),
        jsonb_build_object('criterion', 'constraints', 'input', shares,
            'value', round(constraints_v::numeric, 4), 'weight', %(w_constraints)s,
            'contribution', c_constraints),
        jsonb_build_object('criterion', 'zan', 'input', jsonb_build_object(
                'status', zan_status, 'cost_ha', round(cost_ha::numeric, 4),
                'remaining_epci_ha', round(remaining_ha::numeric, 2),
                'envelope_share', round(envelope_share::numeric, 6), 'pene', pene),
            'value', round(zan_v::numeric, 4), 'weight', %(w_zan)s, 'contribution', c_zan),
        jsonb_build_object('criterion', 'size', 'input', round(contiguous_ha::numeric, 4),
            'value', round(size_v::numeric, 4), 'weight', %(w_size)s, 'contribution', c_size),
        jsonb_build_object('criterion', 'brownfield', 'input', brownfield,
            'value', brownfield_v, 'weight', %(w_brownfield)s, 'contribution', c_brownfield),
        jsonb_build_object('criterion', 'turnkey', 'input', turnkey,
            'value', turnkey_v, 'weight', %(w_turnkey)s, 'contribution', c_turnkey),
        jsonb_build_object('criterion', 'maturity', 'input', maturite,
            'value', maturity_v, 'weight', %(w_maturity)s, 'contribution', c_maturity)
    ) || CASE WHEN excluded THEN jsonb_build_array(jsonb_build_object(
            'criterion', 'exclusion', 'input', to_jsonb(hard_kinds), 'value', 1,
            'weight', NULL, 'contribution', 0))
         ELSE '[]'::jsonb END AS breakdown
FROM c;
