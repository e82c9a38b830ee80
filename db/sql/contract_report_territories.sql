-- Each territory's progress (region and nation reports): sheets by status, funding committed
-- and paid, overdue sheets.
SELECT scope.is_example, scope.programme, scope.id_ti, scope.ti_lib, scope.insee_reg,
       count(*)::int AS sheets,
       count(*) FILTER (WHERE status = 'idea')::int AS idea,
       count(*) FILTER (WHERE status = 'in_preparation')::int AS in_preparation,
       count(*) FILTER (WHERE status = 'committed')::int AS committed,
       count(*) FILTER (WHERE status = 'done')::int AS done,
       count(*) FILTER (WHERE status = 'abandoned')::int AS abandoned,
       coalesce(sum(sf.committed_eur), 0)::float8 AS committed_eur,
       coalesce(sum(sf.paid_eur), 0)::float8 AS paid_eur,
       count(*) FILTER (
         WHERE due_on < %(today)s::date AND status NOT IN ('done', 'abandoned')
       )::int AS overdue
FROM scope LEFT JOIN sheet_funding sf ON sf.sheet_id = scope.id
GROUP BY scope.is_example, scope.programme, scope.id_ti, scope.ti_lib, scope.insee_reg
ORDER BY scope.is_example, scope.programme, scope.id_ti
