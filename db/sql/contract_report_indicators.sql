-- Indicators' progress: measured over target (percent) where the target is positive.
SELECT scope.is_example, scope.id AS sheet_id, scope.programme, scope.id_ti, scope.code,
       scope.title, i.label, i.unit, i.target, i.measured, i.measured_at::text AS measured_at,
       CASE WHEN i.target > 0 AND i.measured IS NOT NULL
            THEN round((100 * i.measured / i.target)::numeric, 1)::float8 END AS progress_pct
FROM scope JOIN ti_action_indicator i ON i.sheet_id = scope.id
ORDER BY scope.is_example, scope.programme, scope.id_ti, scope.code, i.label
LIMIT 1000
