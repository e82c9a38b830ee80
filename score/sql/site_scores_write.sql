-- Replace the scope's site scores (and those of deleted sites) with the site_scored view's rows.
DELETE FROM site_score
WHERE site_id IN (SELECT s.id FROM site s JOIN score_scope sc ON sc.insee = s.insee)
   OR site_id NOT IN (SELECT id FROM site);

INSERT INTO site_score (site_id, score, excluded, land_status, land_evidence,
    zan_cost_ha, zan_cost_max_ha, known_inputs, envelope_share, contiguous_ha,
    zone_class, breakdown, profile_version, vintages)
SELECT key, score, excluded, land_status, land_evidence, cost_ha, cost_max_ha,
    known_inputs, envelope_share, contiguous_ha, zone_class, breakdown, %(version)s,
    %(vintages)s::jsonb
FROM site_scored;

-- PENE sites are charged to the national envelope: reported beside, never deducted.
UPDATE zan_account a SET pene_ha = x.pene_ha FROM (
    SELECT m.territory_type, m.territory_code, sum(s.zan_cost_ha) AS pene_ha
    FROM site_score s JOIN site st ON st.id = s.site_id AND st.pene
    JOIN zan_member m ON m.insee = st.insee
    GROUP BY 1, 2
) x WHERE a.territory_type = x.territory_type AND a.territory_code = x.territory_code;
