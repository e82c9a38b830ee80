-- The action sheets a contract report counts (prefix of every contract_report_*.sql): the
-- sheets of one territory (programme, id_ti), of the territories of one region
-- (territoire.insee_reg) or of the nation (all three parameters NULL). Public reports
-- (%(public)s) count validated sheets only. Each report groups by is_example, so the example
-- sheets are never summed with the real ones.
WITH scope AS (
  SELECT s.id, s.programme, s.id_ti, s.code, s.title, s.axis, s.status, s.due_on,
         s.is_example, t.lib AS ti_lib, t.insee_reg
  FROM ti_action_sheet s
  JOIN territoire t ON t.programme = s.programme AND t.id_ti = s.id_ti
  WHERE (NOT %(public)s OR s.workflow = 'validated')
    AND (%(programme)s::smallint IS NULL OR s.programme = %(programme)s::smallint)
    AND (%(id_ti)s::text IS NULL OR s.id_ti = %(id_ti)s::text)
    AND (%(region)s::text IS NULL OR t.insee_reg = %(region)s::text)
),
-- A sheet's funding summed once per sheet (so joins to it never multiply rows).
sheet_funding AS (
  SELECT f.sheet_id, sum(f.committed_eur) AS committed_eur, sum(f.paid_eur) AS paid_eur
  FROM ti_action_funding f JOIN scope ON scope.id = f.sheet_id
  GROUP BY f.sheet_id
)
