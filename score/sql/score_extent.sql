-- The scope's extent (its communes, else its parcels): constraint and zone work is cut to it.
CREATE UNLOGGED TABLE score_extent AS
SELECT coalesce(
    (SELECT ST_SetSRID(ST_Extent(c.geom), 2154) FROM commune c
     JOIN score_scope s ON s.insee = c.insee),
    (SELECT ST_SetSRID(ST_Extent(p.geom), 2154) FROM parcel p
     JOIN score_scope s ON s.insee = p.insee),
    ST_MakeEnvelope(0, 0, 0, 0, 2154)
) AS extent;
