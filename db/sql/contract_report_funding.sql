-- Funding per financer: committed and paid euros, and the sheets it funds.
SELECT scope.is_example, f.financer, f.financer_kind,
       coalesce(sum(f.committed_eur), 0)::float8 AS committed_eur,
       coalesce(sum(f.paid_eur), 0)::float8 AS paid_eur,
       count(DISTINCT f.sheet_id)::int AS sheets
FROM scope JOIN ti_action_funding f ON f.sheet_id = scope.id
GROUP BY scope.is_example, f.financer, f.financer_kind
ORDER BY scope.is_example, committed_eur DESC, f.financer
