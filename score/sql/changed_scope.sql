-- For `foncier score --changed`: the communes whose parcels, sites, brownfields or PLU zones
-- changed since the last run (its ingest run id and audit id), as the run's scope.
CREATE UNLOGGED TABLE score_scope AS
WITH api_write AS (
    -- sites written through the API since the last run (they carry no ingest run id)
    SELECT substr(target, 6) AS site_id,
        CASE WHEN jsonb_typeof(changes #> '{parcels,old}') = 'array'
             THEN changes #> '{parcels,old}' END AS old_parcels
    FROM audit
    WHERE id > %(audit)s AND id <= %(upto)s AND target LIKE 'site:%%'
)
SELECT insee FROM parcel WHERE run_id > %(since)s
-- a buildings load changes land status without touching its parcels' rows
UNION SELECT insee FROM building WHERE run_id > %(since)s
UNION SELECT insee FROM site WHERE run_id > %(since)s AND insee IS NOT NULL
UNION SELECT insee FROM friche WHERE run_id > %(since)s AND insee IS NOT NULL
UNION SELECT insee FROM plu_zone WHERE run_id > %(since)s
-- parcels deleted since the last run: their communes' scores and units must go too
UNION SELECT s.insee FROM parcel_score s WHERE NOT EXISTS
    (SELECT 1 FROM parcel p WHERE p.idu = s.idu)
-- the API's sites: their communes, and those of the parcels they cover or covered
-- before a move (an IDU starts with its INSEE code)
UNION SELECT s.insee FROM api_write w JOIN site s ON s.id = w.site_id
    WHERE s.insee IS NOT NULL
UNION SELECT p.insee FROM api_write w
    JOIN site_parcel sp ON sp.site_id = w.site_id
    JOIN parcel p ON p.idu = sp.idu
UNION SELECT left(old.idu, 5) FROM api_write w
    CROSS JOIN LATERAL jsonb_array_elements_text(w.old_parcels) old(idu);
