-- After an Etalab parcels load ({stage}: its parcels, which arrive with built NULL): where a
-- commune-wide building file already covers a loaded commune, parcel_built.sql gives its
-- parcels their flag. Without any building (a benchmark database) neither the staging table
-- nor the parcels are scanned: the join is driven by the covered communes.
DROP TABLE IF EXISTS parcel_built_todo;
CREATE TEMP TABLE parcel_built_todo ON COMMIT DROP AS
WITH covered AS MATERIALIZED (
    SELECT l.insee
    FROM (SELECT DISTINCT st.insee FROM {stage} st WHERE EXISTS (SELECT 1 FROM building)) l
    WHERE EXISTS (SELECT 1 FROM building b WHERE b.insee = l.insee AND b.sheet IS NULL)
)
SELECT p.idu FROM covered c JOIN parcel p ON p.insee = c.insee;
