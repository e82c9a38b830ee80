-- After the merge of a file whose old codes were remapped (enaf_remap.sql): flows stored
-- under those old codes by an earlier load are replaced by the current commune's, so no
-- commune's consumption is stored twice.
CREATE TEMP TABLE replaced_enaf (flow_rows bigint) ON COMMIT DROP;

WITH gone AS (
    DELETE FROM enaf_flow f
    USING remapped_enaf r
    WHERE f.insee = r.insee_ancienne
    RETURNING 1
)
INSERT INTO replaced_enaf SELECT count(*) FROM gone;
