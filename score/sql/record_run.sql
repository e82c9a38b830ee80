-- Every derived layer changed: bump its version (the API's ETags and caches follow), then record
-- the run with the layer versions it saw at its start (so `--changed` misses no load committed
-- during the run).
INSERT INTO layer_version (layer, version, updated_at)
SELECT layer, 1, now()
FROM unnest(ARRAY['zan_accounts', 'parcels', 'sites', 'land_units', 'scores']) AS l(layer)
ON CONFLICT (layer) DO UPDATE SET version = layer_version.version + 1, updated_at = now();

INSERT INTO score_run (territory, profile_version, layer_versions, communes, parcels, sites,
    seconds)
VALUES (%(territory)s, %(version)s, %(seen)s::jsonb, %(communes)s, %(parcels)s, %(sites)s,
    %(seconds)s);
