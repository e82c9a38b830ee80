-- The legal ZAE inventory of one EPCI (article L.318-8-2 of the Code de l'urbanisme), as
-- temporary tables dropped at commit: zones, their land units (unités foncières) with surface
-- and owners, the occupants, and vacancy by the legal rule (CFE) or the apparent-vacancy proxy.
-- Binds: epci (SIREN), reference (1 January of the inventory year, 'YYYY-01-01'),
-- window_start (two years before), last_cfe_max (the year two years before: a unit
-- whose last CFE year is at most this one has had no CFE-liable activity at the last two
-- 1 January), adjacent_m (parcels closer than this touch), m2_per_ha, and the profile's
-- curtilage_m and [densification] max_coverage, min_part_m2, min_compactness.

-- Zones: the EPCI's perimeters, drafts and validated alike (the status is in every output).
CREATE TEMP TABLE inv_zone ON COMMIT DROP AS
SELECT z.id, z.nom, z.site_type, z.vocadomi, z.etat, z.status, z.epci_siren, z.insee,
    z.surface_ha, z.attributes, z.vintage, z.geom
FROM zae z
WHERE z.epci_siren = %(epci)s::text;

-- A parcel belongs to the zone holding its point on surface (the first zone by id when two
-- drafts overlap): a parcel is never counted twice.
CREATE TEMP TABLE inv_parcel ON COMMIT DROP AS
SELECT DISTINCT ON (p.idu) p.idu, z.id AS zone_id, p.insee, p.geom, p.built,
    coalesce(p.contenance_m2, round(foncier_area_m2(p.geom)))::bigint AS surface_m2,
    o.owners_key, o.owner_types, o.legal_names, o.sirens
FROM inv_zone z
JOIN parcel p ON p.geom && z.geom AND ST_Contains(z.geom, ST_PointOnSurface(p.geom))
LEFT JOIN LATERAL (
    -- The parcel's holders as one key: adjacent parcels with the same holders form a unit.
    SELECT string_agg(DISTINCT po.owner_key, '|' ORDER BY po.owner_key) AS owners_key,
        array_agg(DISTINCT po.owner_type ORDER BY po.owner_type) AS owner_types,
        array_agg(DISTINCT po.denomination ORDER BY po.denomination)
            FILTER (WHERE po.owner_type = 'personne morale' AND po.denomination IS NOT NULL)
            AS legal_names,
        array_agg(DISTINCT po.siren ORDER BY po.siren)
            FILTER (WHERE po.owner_type = 'personne morale' AND po.siren IS NOT NULL) AS sirens
    FROM parcel_owner po
    WHERE po.idu = p.idu
) o ON TRUE
ORDER BY p.idu, z.id;

-- Land units: adjacent parcels of one zone with the same holders; a parcel without known
-- owner is a unit by itself (flagged).
CREATE TEMP TABLE inv_cluster ON COMMIT DROP AS
SELECT idu, zone_id,
    CASE WHEN owners_key IS NULL THEN 'parcel:' || idu
        ELSE owners_key || ':' || ST_ClusterDBSCAN(geom, %(adjacent_m)s::float8, 1)
            OVER (PARTITION BY zone_id, owners_key) END AS cluster
FROM inv_parcel;

CREATE TEMP TABLE inv_unit ON COMMIT DROP AS
-- Numbered in parcel order, three digits at least (lpad alone would cut a longer number).
SELECT c.zone_id || '-UF' || lpad(
        (row_number() OVER (PARTITION BY c.zone_id ORDER BY min(p.idu)))::text,
        greatest(3, length((row_number() OVER (PARTITION BY c.zone_id ORDER BY min(p.idu)))::text)),
        '0') AS id,
    c.zone_id, count(*)::int AS parcel_count,
    array_agg(p.idu ORDER BY p.idu) AS idus,
    sum(p.surface_m2)::bigint AS surface_m2,
    min(p.owners_key) IS NOT NULL AS owner_known,
    CASE WHEN min(p.owners_key) IS NULL THEN NULL
        WHEN 'personne morale' = ALL (min(p.owner_types)) THEN 'personne morale'
        WHEN 'personne physique' = ALL (min(p.owner_types)) THEN 'personne physique'
        ELSE 'personnes morale et physique' END AS owner_type,
    -- Legal persons are named; a private person never is (the rule of brownfield owners).
    array_to_string(min(p.legal_names), ' ; ')
        || CASE WHEN 'personne physique' = ANY (min(p.owner_types))
            AND cardinality(min(p.legal_names)) > 0 THEN ' ; personne physique' ELSE '' END
        AS owner_legal_names,
    array_to_string(min(p.sirens), ' ; ') AS owner_sirens,
    bool_or(p.built) AS built,
    bool_and(p.built IS NOT NULL) AS built_known,
    ST_Multi(ST_Union(p.geom)) AS geom
FROM inv_cluster c
JOIN inv_parcel p ON p.idu = c.idu
GROUP BY c.zone_id, c.cluster;

CREATE TEMP TABLE inv_unit_parcel ON COMMIT DROP AS
SELECT unnest(idus) AS idu, id AS unit_id FROM inv_unit;

-- Occupants: the establishments standing on a unit's parcel. "In the period": active, or closed
-- after the period's start (SIRENE dateDebut of the closed period), and created before its end.
CREATE TEMP TABLE inv_occupant ON COMMIT DROP AS
SELECT up.unit_id, e.siret, e.siren, e.naf, e.etat, e.state_since, e.created_on, e.enseigne,
    e.tranche_effectif, e.vintage, e.geom,
    (e.etat = 'A' OR e.state_since >= %(window_start)s::text)
        AND coalesce(e.created_on < %(reference)s::text, TRUE) AS in_period
FROM inv_parcel p
JOIN inv_unit_parcel up ON up.idu = p.idu
JOIN establishment e ON e.geom && p.geom AND ST_Intersects(p.geom, e.geom);

-- Vacancy. Legal rule: no CFE-liable activity at the last two 1 January (last CFE year at most
-- two years back, or none) and unoccupied over the same period; known only where the EPCI's CFE
-- file covers the unit's commune. Proxy (apparent vacancy): no establishment in the period and
-- no building known on the unit.
CREATE TEMP TABLE inv_vacancy ON COMMIT DROP AS
SELECT u.id AS unit_id,
    coalesce(o.occupied, FALSE) AS occupied,
    o.occupants, o.active_occupants,
    cfe.last_cfe_year,
    cov.covered AS cfe_known,
    CASE WHEN cov.covered THEN
        coalesce(cfe.last_cfe_year <= %(last_cfe_max)s::int, TRUE) AND NOT coalesce(o.occupied, FALSE)
    END AS vacant_legal,
    NOT coalesce(o.occupied, FALSE) AND NOT coalesce(u.built, FALSE) AS vacant_proxy
FROM inv_unit u
LEFT JOIN LATERAL (
    SELECT bool_or(x.in_period) AS occupied, count(*)::int AS occupants,
        (count(*) FILTER (WHERE x.etat = 'A'))::int AS active_occupants
    FROM inv_occupant x WHERE x.unit_id = u.id
) o ON TRUE
LEFT JOIN LATERAL (
    SELECT max(c.last_cfe_year)::int AS last_cfe_year
    FROM cfe_premises c WHERE c.idu = ANY (u.idus)
) cfe ON TRUE
LEFT JOIN LATERAL (
    SELECT bool_and(EXISTS (SELECT 1 FROM cfe_premises c WHERE c.insee = left(m.idu, 5)))
        AS covered
    FROM unnest(u.idus) AS m(idu)
) cov ON TRUE;

-- Densification potential (profile [densification]): a built unit whose buildings cover less
-- than max_coverage of it, or whose unbuilt part (the unit less its buildings' curtilage) has a
-- compact piece of at least min_part_m2; its capacity, consuming no ENAF, is that unbuilt part.
-- Known only where a building layer covers every parcel of the unit (parcel.built not NULL);
-- a unit without building is free land (the land status), not densification.
CREATE TEMP TABLE inv_densification ON COMMIT DROP AS
SELECT u.id AS unit_id, u.built_known AS known,
    d.coverage, d.unbuilt_m2, d.largest_part_m2,
    CASE WHEN NOT u.built_known THEN NULL
        WHEN NOT coalesce(u.built, FALSE) THEN FALSE
        ELSE d.coverage < %(max_coverage)s::float8 OR d.compact_part END AS densifiable
FROM inv_unit u
LEFT JOIN LATERAL (
    SELECT ST_Union(ST_Intersection(bd.geom, u.geom)) AS footprint,
        ST_Union(ST_Buffer(bd.geom, %(curtilage_m)s::float8)) AS curtilage
    FROM building bd
    WHERE bd.geom && u.geom AND ST_Intersects(bd.geom, u.geom)
) f ON u.built
LEFT JOIN LATERAL (
    SELECT coalesce(foncier_area_m2(f.footprint), 0) / nullif(foncier_area_m2(u.geom), 0)
            AS coverage,
        coalesce(sum(foncier_area_m2(part.geom)), 0) AS unbuilt_m2,
        coalesce(max(foncier_area_m2(part.geom)), 0) AS largest_part_m2,
        coalesce(bool_or(foncier_area_m2(part.geom) >= %(min_part_m2)s::float8
            AND 4 * pi() * ST_Area(part.geom) / nullif(ST_Perimeter(part.geom) ^ 2, 0)
                >= %(min_compactness)s::float8), FALSE) AS compact_part
    FROM ST_Dump(ST_CollectionExtract(
        ST_Difference(u.geom, coalesce(f.curtilage, 'SRID=2154;POLYGON EMPTY'::geometry)), 3)) AS part
    WHERE NOT ST_IsEmpty(part.geom)
) d ON u.built;

-- Per zone: the legal rate where every unit is covered by the CFE file, else the proxy's.
CREATE TEMP TABLE inv_zone_figures ON COMMIT DROP AS
SELECT z.id AS zone_id,
    count(u.id)::int AS unit_count,
    coalesce(sum(u.parcel_count), 0)::int AS parcel_count,
    coalesce(sum(u.surface_m2), 0)::bigint AS units_surface_m2,
    (count(u.id) FILTER (WHERE NOT u.owner_known))::int AS units_without_owner,
    coalesce(bool_and(v.cfe_known), FALSE) AND count(u.id) > 0 AS legal,
    (count(u.id) FILTER (WHERE v.vacant_legal))::int AS vacant_legal,
    (count(u.id) FILTER (WHERE v.vacant_proxy))::int AS vacant_proxy,
    coalesce(sum(v.occupants), 0)::int AS occupants,
    -- Densification: NULL (unknown) unless building data covers every unit of the zone.
    CASE WHEN count(u.id) > 0 AND bool_and(dn.known) THEN
        (count(u.id) FILTER (WHERE dn.densifiable))::int END AS densification_units,
    CASE WHEN count(u.id) > 0 AND bool_and(dn.known) THEN
        coalesce(sum(dn.unbuilt_m2) FILTER (WHERE dn.densifiable), 0) / %(m2_per_ha)s::float8
        END AS densification_ha,
    coalesce(sum(v.active_occupants), 0)::int AS active_occupants,
    -- Available land from the land status (foncier score): NULL where the zone is not scored.
    (SELECT CASE WHEN count(*) > 0 THEN coalesce(sum(foncier_area_m2(p.geom))
            FILTER (WHERE s.available), 0) / %(m2_per_ha)s::float8 END
        FROM inv_parcel p JOIN parcel_score s ON s.idu = p.idu
        WHERE p.zone_id = z.id) AS available_ha,
    EXISTS (SELECT 1 FROM inv_parcel p JOIN parcel_score s ON s.idu = p.idu
        WHERE p.zone_id = z.id) AS land_status_known
FROM inv_zone z
LEFT JOIN inv_unit u ON u.zone_id = z.id
LEFT JOIN inv_vacancy v ON v.unit_id = u.id
LEFT JOIN inv_densification dn ON dn.unit_id = u.id
GROUP BY z.id;
