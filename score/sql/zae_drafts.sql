-- Draft zone perimeters for an EPCI that has none: its communes' PLU activity zones
-- (plu_zone.zone_class = 'activity'), touching zones of one commune dissolved into one draft
-- with their labels. Status 'draft': the EPCI validates or redraws them, and loading its CNIG
-- SITE-ECO file replaces them (the zae layer's scope is the EPCI). Binds: epci, m2_per_ha.
INSERT INTO zae (id, nom, site_type, vocadomi, etat, status, epci_siren, insee, surface_ha,
    source, attributes, geom, vintage)
SELECT d.insee || '_SITE-ECO_P' || lpad(
        (row_number() OVER (PARTITION BY d.insee ORDER BY d.first_id))::text,
        greatest(4, length((row_number() OVER (PARTITION BY d.insee ORDER BY d.first_id))::text)),
        '0'),
    'Zone ' || array_to_string(d.labels, ', ') || ' n° '
        || row_number() OVER (PARTITION BY d.insee ORDER BY d.first_id)
        || ' de ' || coalesce(c.nom, d.insee) || ' (brouillon d''après le PLU)',
    'Zone d''activité économique', NULL, NULL, 'draft', %(epci)s::text, d.insee,
    foncier_area_m2(d.geom) / %(m2_per_ha)s::float8, 'PLU (zones d''activité)',
    jsonb_build_object('plu_zones', to_jsonb(d.ids), 'plu_libelles', to_jsonb(d.labels),
        'plu_libelongs', to_jsonb(d.longs), 'plu_datappro', d.datappro),
    d.geom, d.vintage
FROM (
    SELECT insee, min(id) AS first_id, array_agg(id ORDER BY id) AS ids,
        array_agg(DISTINCT libelle ORDER BY libelle) AS labels,
        array_remove(array_agg(DISTINCT libelong ORDER BY libelong), NULL) AS longs,
        min(datappro) AS datappro, min(vintage) AS vintage,
        ST_Multi(ST_CollectionExtract(ST_UnaryUnion(ST_Collect(geom)), 3)) AS geom
    FROM (
        SELECT z.*, ST_ClusterDBSCAN(z.geom, 0, 1) OVER (PARTITION BY z.insee) AS cid
        FROM plu_zone z
        WHERE z.zone_class = 'activity' AND z.insee IN (
            SELECT insee FROM territory_commune WHERE kind = 'epci' AND code = %(epci)s::text)
    ) clustered
    GROUP BY insee, cid
) d
LEFT JOIN commune c ON c.insee = d.insee
WHERE NOT EXISTS (SELECT 1 FROM zae WHERE epci_siren = %(epci)s::text);
