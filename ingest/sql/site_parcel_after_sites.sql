-- After a sites load ({stage} holds the file's sites): recompute the parcels of those sites
-- (the load replaced the table: removed sites lost theirs by ON DELETE CASCADE).
DROP TABLE IF EXISTS site_parcel_todo;
CREATE TEMP TABLE site_parcel_todo AS SELECT DISTINCT s.id FROM {stage} s;
