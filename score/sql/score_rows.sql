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
        CASE WHEN m.constraints_known THEN 1.0 - least(1.0, m.penalty)
             ELSE %(unknown_constraints)s END AS constraints_v,
        CASE WHEN m.pene THEN 1.0
             WHEN m.cost_ha IS NULL THEN %(zan_unknown)s
             WHEN m.cost_ha = 0 THEN 1.0
             WHEN m.remaining_ha IS NULL THEN %(zan_unknown)s
             WHEN m.remaining_ha <= 0 THEN 0.0
             ELSE greatest(0.0, 1.0 - m.cost_ha / m.remaining_ha / %(full_penalty_share)s) END
            AS zan_v,
        CASE m.size_state
            WHEN 'built' THEN 0.0
            WHEN 'unknown' THEN %(unknown_size)s
            ELSE least(CASE WHEN m.size_state = 'capped' THEN %(unknown_size_cap)s ELSE 1.0 END,
                greatest(0.0, (m.contiguous_ha - %(size_min_ha)s)
                    / (%(size_target_ha)s - %(size_min_ha)s))) END AS size_v,
        CASE WHEN m.brownfield THEN 1.0 ELSE 0.0 END AS brownfield_v,
        CASE WHEN m.turnkey THEN 1.0 ELSE 0.0 END AS turnkey_v,
        m.maturity_value AS maturity_v,
        CASE WHEN m.pene OR m.cost_ha = 0 THEN 0.0
             WHEN m.remaining_ha > 0 THEN m.cost_ha / m.remaining_ha END AS envelope_share,
        m.zone_class IS NOT NULL AS zoning_known,
        m.pene OR (m.cost_ha IS NOT NULL AND (m.cost_ha = 0 OR m.remaining_ha IS NOT NULL))
            AS zan_known,
        m.size_state IN ('known', 'built') AS size_known
    FROM {metrics} m
    LEFT JOIN unnest(%(zone_classes)s::text[], %(zone_values)s::float8[]) AS zv(cls, value)
        ON zv.cls = m.zone_class
), p AS (
    SELECT v.*,
        %(w_zoning)s * zoning_v AS p_zoning,
        %(w_constraints)s * constraints_v AS p_constraints,
        %(w_zan)s * zan_v AS p_zan,
        %(w_size)s * size_v AS p_size,
        %(w_brownfield)s * brownfield_v AS p_brownfield,
        %(w_turnkey)s * turnkey_v AS p_turnkey,
        %(w_maturity)s * maturity_v AS p_maturity
    FROM v
), k AS (
    -- Contributions in whole cents (float8 integers, exact), rounded as round(x::numeric, 2)
    -- would: float rounding, except within 1e-7 of a half cent where the decimal reading of
    -- the float decides (numeric rounds half away from zero, rint half to even).
    SELECT p.*,
        CASE WHEN excluded THEN 0.0::float8
            WHEN abs(abs(p_zoning * 100 - trunc(p_zoning * 100)) - 0.5) < 1e-7
            THEN (round(p_zoning::numeric, 2) * 100)::float8 ELSE round(p_zoning * 100) END
            AS k_zoning,
        CASE WHEN excluded THEN 0.0::float8
            WHEN abs(abs(p_constraints * 100 - trunc(p_constraints * 100)) - 0.5) < 1e-7
            THEN (round(p_constraints::numeric, 2) * 100)::float8
            ELSE round(p_constraints * 100) END
            AS k_constraints,
        CASE WHEN excluded THEN 0.0::float8
            WHEN abs(abs(p_zan * 100 - trunc(p_zan * 100)) - 0.5) < 1e-7
            THEN (round(p_zan::numeric, 2) * 100)::float8 ELSE round(p_zan * 100) END
            AS k_zan,
        CASE WHEN excluded THEN 0.0::float8
            WHEN abs(abs(p_size * 100 - trunc(p_size * 100)) - 0.5) < 1e-7
            THEN (round(p_size::numeric, 2) * 100)::float8 ELSE round(p_size * 100) END
            AS k_size,
        CASE WHEN excluded THEN 0.0::float8
            WHEN abs(abs(p_brownfield * 100 - trunc(p_brownfield * 100)) - 0.5) < 1e-7
            THEN (round(p_brownfield::numeric, 2) * 100)::float8 ELSE round(p_brownfield * 100) END
            AS k_brownfield,
        CASE WHEN excluded THEN 0.0::float8
            WHEN abs(abs(p_turnkey * 100 - trunc(p_turnkey * 100)) - 0.5) < 1e-7
            THEN (round(p_turnkey::numeric, 2) * 100)::float8 ELSE round(p_turnkey * 100) END
            AS k_turnkey,
        CASE WHEN excluded THEN 0.0::float8
            WHEN abs(abs(p_maturity * 100 - trunc(p_maturity * 100)) - 0.5) < 1e-7
            THEN (round(p_maturity::numeric, 2) * 100)::float8 ELSE round(p_maturity * 100) END
            AS k_maturity
    FROM p
), c AS (
    -- Rounded like round(x::numeric, n) (see k), as float8: the nearest double to that decimal,
    -- printed by float8out as its shortest exact text (no numeric per row: 5x cheaper).
    SELECT k.*,
        k_zoning / 100 AS c_zoning,
        k_constraints / 100 AS c_constraints,
        k_zan / 100 AS c_zan,
        k_size / 100 AS c_size,
        k_brownfield / 100 AS c_brownfield,
        k_turnkey / 100 AS c_turnkey,
        k_maturity / 100 AS c_maturity,
        CASE WHEN abs(abs(zoning_v * 1e4 - trunc(zoning_v * 1e4)) - 0.5) < 1e-7
            THEN round(zoning_v::numeric, 4)::float8 ELSE round(zoning_v * 1e4) / 1e4 END
            AS r_zoning,
        CASE WHEN abs(abs(constraints_v * 1e4 - trunc(constraints_v * 1e4)) - 0.5) < 1e-7
            THEN round(constraints_v::numeric, 4)::float8 ELSE round(constraints_v * 1e4) / 1e4 END
            AS r_constraints,
        CASE WHEN abs(abs(cost_ha * 1e4 - trunc(cost_ha * 1e4)) - 0.5) < 1e-7
            THEN round(cost_ha::numeric, 4)::float8 ELSE round(cost_ha * 1e4) / 1e4 END
            AS r_cost_ha,
        round(cost_max_ha * 1e4) / 1e4 AS r_cost_max_ha,
        CASE WHEN abs(abs(remaining_ha * 1e2 - trunc(remaining_ha * 1e2)) - 0.5) < 1e-7
            THEN round(remaining_ha::numeric, 2)::float8 ELSE round(remaining_ha * 1e2) / 1e2 END
            AS r_remaining_ha,
        CASE WHEN abs(abs(envelope_share * 1e6 - trunc(envelope_share * 1e6)) - 0.5) < 1e-7
            THEN round(envelope_share::numeric, 6)::float8
            ELSE round(envelope_share * 1e6) / 1e6 END
            AS r_envelope_share,
        CASE WHEN abs(abs(zan_v * 1e4 - trunc(zan_v * 1e4)) - 0.5) < 1e-7
            THEN round(zan_v::numeric, 4)::float8 ELSE round(zan_v * 1e4) / 1e4 END
            AS r_zan,
        CASE WHEN abs(abs(contiguous_ha * 1e4 - trunc(contiguous_ha * 1e4)) - 0.5) < 1e-7
            THEN round(contiguous_ha::numeric, 4)::float8 ELSE round(contiguous_ha * 1e4) / 1e4 END
            AS r_contiguous_ha,
        CASE WHEN abs(abs(size_v * 1e4 - trunc(size_v * 1e4)) - 0.5) < 1e-7
            THEN round(size_v::numeric, 4)::float8 ELSE round(size_v * 1e4) / 1e4 END
            AS r_size
    FROM k
)
SELECT c.*,
    (k_zoning + k_constraints + k_zan + k_size + k_brownfield + k_turnkey + k_maturity) / 100
        AS score,
    (zoning_known::int + constraints_known::int + zan_known::int + size_known::int + 2
        + maturity_known::int) AS known_inputs,
    -- BREAKDOWN_FORMAT (geo/score.py): each placeholder gets JSON text ('null' for a NULL).
    format(%(breakdown_format)s,
        to_json(coalesce(zone_class, 'unknown')), zoning_known::text, r_zoning,
        %(w_zoning)s, c_zoning,
        CASE WHEN constraints_known THEN shares::text ELSE '"unknown"' END, constraints_known::text,
        r_constraints, %(w_constraints)s, c_constraints,
        to_json(land_status), coalesce(r_cost_ha::text, 'null'),
        coalesce(r_cost_max_ha::text, 'null'),
        coalesce(r_remaining_ha::text, 'null'),
        coalesce(r_envelope_share::text, 'null'),
        coalesce(to_json(pene)::text, 'null'), zan_known::text,
        r_zan, %(w_zan)s, c_zan,
        CASE size_state WHEN 'built' THEN '"built"' WHEN 'unknown' THEN '"unknown"'
             ELSE coalesce(r_contiguous_ha::text, 'null') END, size_known::text, r_size,
        %(w_size)s, c_size,
        coalesce(to_json(brownfield)::text, 'null'), brownfield_v, %(w_brownfield)s,
        c_brownfield,
        coalesce(to_json(turnkey)::text, 'null'), turnkey_v, %(w_turnkey)s, c_turnkey,
        coalesce(to_json(maturite)::text, 'null'), maturity_known::text,
        coalesce(maturity_v::text, 'null'), %(w_maturity)s, c_maturity,
        CASE WHEN excluded THEN format(%(exclusion_format)s, to_jsonb(hard_kinds)) ELSE '' END
    )::json AS breakdown
FROM c;
