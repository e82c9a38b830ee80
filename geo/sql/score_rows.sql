-- Score and breakdown of every row of a metrics relation (parcels or sites). Each criterion has a
-- value in 0-1 and a weight in points; contribution = round(weight x value, 2) and the score is
-- the sum of the contributions, so a breakdown always adds up to its score. An excluded row
-- scores 0: its criteria keep their values but contribute nothing, and an `exclusion` entry
-- names the kinds that excluded it.
-- A view, not a table: the rows are computed once, while being inserted into the target (a
-- parallel CREATE TABLE AS then INSERT was slower: the second write costs more than the workers
-- save on two shared cores).
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
    -- BREAKDOWN_FORMAT (geo/score.py): each placeholder gets JSON text ('null' for a NULL).
    format(%(breakdown_format)s,
        to_json(coalesce(zone_class, 'none')), round(zoning_v::numeric, 4),
        %(w_zoning)s, c_zoning,
        shares, round(constraints_v::numeric, 4), %(w_constraints)s, c_constraints,
        to_json(zan_status), round(cost_ha::numeric, 4),
        coalesce(round(remaining_ha::numeric, 2)::text, 'null'),
        coalesce(round(envelope_share::numeric, 6)::text, 'null'),
        coalesce(to_json(pene)::text, 'null'),
        round(zan_v::numeric, 4), %(w_zan)s, c_zan,
        coalesce(round(contiguous_ha::numeric, 4)::text, 'null'), round(size_v::numeric, 4),
        %(w_size)s, c_size,
        coalesce(to_json(brownfield)::text, 'null'), brownfield_v, %(w_brownfield)s,
        c_brownfield,
        coalesce(to_json(turnkey)::text, 'null'), turnkey_v, %(w_turnkey)s, c_turnkey,
        coalesce(to_json(maturite)::text, 'null'), coalesce(maturity_v::text, 'null'),
        %(w_maturity)s, c_maturity,
        CASE WHEN excluded THEN format(%(exclusion_format)s, to_jsonb(hard_kinds)) ELSE '' END
    )::json AS breakdown
FROM c;
