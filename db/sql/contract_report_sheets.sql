-- Sheets by axis and status.
SELECT is_example, axis, status, count(*)::int AS sheets
FROM scope
GROUP BY is_example, axis, status
ORDER BY is_example, axis, status
