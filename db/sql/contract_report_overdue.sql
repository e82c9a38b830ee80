-- Overdue sheets: their due date has passed (before %(today)s) and they are neither done nor
-- abandoned.
SELECT is_example, id, programme, id_ti, ti_lib, code, title, axis, status, due_on::text AS due_on
FROM scope
WHERE due_on < %(today)s::date AND status NOT IN ('done', 'abandoned')
ORDER BY is_example, due_on, programme, id_ti, code
LIMIT 1000
