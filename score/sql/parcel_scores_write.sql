-- Replace the scope's parcel scores with the rows of the parcel_scored view (score_rows.sql).
DELETE FROM parcel_score WHERE insee IN (SELECT insee FROM score_scope);

INSERT INTO parcel_score (idu, insee, score, excluded, land_status, land_evidence,
    zan_cost_ha, zan_cost_max_ha, known_inputs, envelope_share, land_unit_id,
    zone_class, constrained_share, contiguous_ha, candidate, available, to_qualify,
    breakdown, profile_version, vintages)
SELECT idu, insee, score, excluded, land_status, land_evidence, cost_ha, cost_max_ha,
    known_inputs, envelope_share, unit_id, zone_class, constrained_share,
    CASE WHEN size_state = 'built' THEN NULL ELSE contiguous_ha END, place_ok,
    available, to_qualify, breakdown, %(version)s, %(vintages)s::jsonb
FROM parcel_scored;
