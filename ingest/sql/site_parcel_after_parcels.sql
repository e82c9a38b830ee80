-- After a parcels load ({stage} holds the file's parcels): recompute the parcels of the sites
-- that touch a loaded commune, and of the sites that lost a parcel the load deleted.
-- With no placed site (a benchmark database) the staging table is not even scanned.
DROP TABLE IF EXISTS site_parcel_todo;
CREATE TEMP TABLE site_parcel_todo AS
WITH loaded AS (
    SELECT DISTINCT st.insee FROM {stage} st
    WHERE EXISTS (SELECT 1 FROM site WHERE location_precision <> 'commune')
)
SELECT s.id FROM site s
WHERE s.location_precision <> 'commune'
  AND EXISTS (
      SELECT 1 FROM parcel p
      WHERE p.geom && coalesce(s.perimeter, s.geom)
        AND p.insee IN (SELECT insee FROM loaded)
  )
UNION
SELECT sp.site_id FROM site_parcel sp
WHERE NOT EXISTS (SELECT 1 FROM parcel p WHERE p.idu = sp.idu);
