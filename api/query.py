"""SQL for feature queries, built from the collection registry with psycopg.sql.

Identifiers and expressions come from the registry (whitelisted); every value a client sends is a
named bind parameter. GeoJSON is built by PostgreSQL (``json_build_object``), so Python only
concatenates text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from psycopg import sql

from api.collections import BOOLEAN, INTEGER, NUMBER, Collection, Prop
from db.errors import InvalidQuery
from db.history import as_of_sql
from geo.crs import LAMBERT93_AREA_LONLAT, Crs
from geo.tiles import AFFINE_MIN_ZOOM, lambert93_to_3857_affine


class Binder:
    """Collects bind values under generated names: ``b.bind(v)`` returns its placeholder."""

    def __init__(self) -> None:
        self.params: dict[str, object] = {}

    def bind(self, value: object, cast: str | None = None) -> sql.Composable:
        name = f"p{len(self.params)}"
        self.params[name] = value
        placeholder: sql.Composable = sql.Placeholder(name)
        if cast:
            placeholder = sql.SQL("{}::{}").format(placeholder, sql.SQL(cast))
        return placeholder


SQL_TYPES = {INTEGER: "bigint", NUMBER: "double precision", BOOLEAN: "boolean"}


def coerce(prop: Prop, raw: str, parameter: str) -> object:
    """A query-string value converted to ``prop``'s type, or :class:`InvalidQuery`."""
    try:
        if prop.type == INTEGER:
            return int(raw)
        if prop.type == NUMBER:
            return float(raw)
        if prop.type == BOOLEAN:
            lowered = raw.lower()
            if lowered in ("true", "1", "yes", "oui"):
                return True
            if lowered in ("false", "0", "no", "non"):
                return False
            raise ValueError(raw)
    except ValueError:
        raise InvalidQuery(f"{parameter}={raw!r}: expected a {prop.type}") from None
    return raw


def envelope_2154(
    binder: Binder, bbox: tuple[float, float, float, float], crs: Crs
) -> sql.Composable:
    """A bbox given in ``crs`` as a Lambert-93 polygon (the envelope is transformed, the column
    never is, so the GiST index is used)."""
    x0, y0, x1, y1 = (bbox[1], bbox[0], bbox[3], bbox[2]) if crs.lat_lon else bbox
    env = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
        binder.bind(float(x0)),
        binder.bind(float(y0)),
        binder.bind(float(x1)),
        binder.bind(float(y1)),
        sql.Literal(crs.srid),
    )
    if crs.srid == 2154:
        return env
    lonlat = env if crs.srid == 4326 else sql.SQL("ST_Transform({}, 4326)").format(env)
    # Clip to Lambert-93's area of use before projecting, and densify so edges follow the curve.
    area = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(
        *(sql.Literal(v) for v in LAMBERT93_AREA_LONLAT)
    )
    return sql.SQL("ST_Transform(ST_Segmentize(ST_Intersection({}, {}), 0.05), 2154)").format(
        lonlat, area
    )


def bbox_parts(
    bbox: tuple[float, float, float, float], crs: Crs
) -> list[tuple[float, float, float, float]]:
    """``bbox`` as one envelope, or two when it crosses the antimeridian (OGC API Features
    /req/core/fc-bbox-definition: in degrees, minx > maxx means east of minx and west of maxx)."""
    lon = 1 if crs.lat_lon else 0
    if not crs.geographic or bbox[lon] <= bbox[lon + 2]:
        return [bbox]
    east, west = list(bbox), list(bbox)
    east[lon + 2], west[lon] = 180.0, -180.0
    return [(east[0], east[1], east[2], east[3]), (west[0], west[1], west[2], west[3])]


def geometry_out(expr: str, crs: Crs) -> sql.Composable:
    """The geometry expression projected for output (EPSG:4326 in its lat/lon axis order)."""
    geom: sql.Composable = sql.SQL(expr)
    if crs.srid != 2154:
        geom = sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(crs.srid))
    if crs.lat_lon:
        geom = sql.SQL("ST_FlipCoordinates({})").format(geom)
    return geom


@dataclass
class FeatureQuery:
    """A parsed items request (every field already validated against the registry)."""

    collection: Collection
    privileged: bool = False
    bbox: tuple[float, float, float, float] | None = None
    bbox_crs: Crs | None = None
    crs: Crs | None = None
    limit: int | None = None
    offset: int = 0
    sortby: list[tuple[Prop, bool]] = field(default_factory=list)
    properties: list[Prop] | None = None
    equals: list[tuple[Prop, object]] = field(default_factory=list)
    cql: sql.Composable | None = None
    feature_id: str | None = None
    # as_of: the placeholder of the instant (bound once); the collection's table is then read
    # as it was at that time (db.history.as_of_sql).
    as_of: sql.Composable | None = None

    def output_props(self) -> tuple[Prop, ...]:
        if self.properties is not None:
            return tuple(self.properties)
        return self.collection.visible_props(self.privileged)


def where_clause(q: FeatureQuery, binder: Binder) -> sql.Composable:
    """The WHERE conditions of ``q`` (always at least ``TRUE``)."""
    c = q.collection
    parts: list[sql.Composable] = []
    if c.where:
        parts.append(sql.SQL(c.where))
    if c.public_where and not q.privileged:
        parts.append(sql.SQL(c.public_where))
    if q.feature_id is not None:
        parts.append(sql.SQL("{}::text = {}").format(sql.SQL(c.id_expr), binder.bind(q.feature_id)))
    if q.bbox is not None and q.bbox_crs is not None:
        tests = [
            sql.SQL("ST_Intersects({}, {})").format(
                sql.SQL(c.geom_expr), envelope_2154(binder, part, q.bbox_crs)
            )
            for part in bbox_parts(q.bbox, q.bbox_crs)
        ]
        parts.append(sql.SQL("({})").format(sql.SQL(" OR ").join(tests)))
    for prop, value in q.equals:
        parts.append(
            sql.SQL("{} = {}").format(
                sql.SQL(prop.expr), binder.bind(value, SQL_TYPES.get(prop.type))
            )
        )
    if q.cql is not None:
        parts.append(sql.SQL("({})").format(q.cql))
    return sql.SQL(" AND ").join(parts) if parts else sql.SQL("TRUE")


def order_clause(q: FeatureQuery) -> sql.Composable:
    """ORDER BY the requested sort (or the default), then the id so pages are stable."""
    c = q.collection
    keys: list[sql.Composable] = []
    sortby = q.sortby or [(p, False) for p in (c.prop(n) for n in c.default_sort) if p]
    for prop, desc in sortby:
        keys.append(
            sql.SQL("{} {} NULLS LAST").format(
                sql.SQL(prop.expr), sql.SQL("DESC" if desc else "ASC")
            )
        )
    keys.append(sql.SQL(c.id_expr))
    return sql.SQL(", ").join(keys)


def feature_json(
    q: FeatureQuery,
    id_expr: str | None = None,
    geom_expr: str | None = None,
    props_ref: str = "props",
) -> sql.Composable:
    """One GeoJSON feature as text, built by PostgreSQL from the ``props`` lateral row.

    Concatenating text around ``row_to_json`` is about 25% faster than ``json_build_object``
    with one argument pair per property (measured on 1,000-parcel pages).
    """
    c = q.collection
    crs = q.crs
    assert crs is not None
    props = (
        sql.SQL("row_to_json({})::text").format(sql.SQL(props_ref))
        if q.output_props()
        else sql.SQL("'{}'")
    )
    return sql.SQL(
        '\'{{"type":"Feature","id":\' || to_json({id})::text || \',"geometry":\' || '
        "coalesce(ST_AsGeoJSON({geom}, {dec}, 0), 'null') || ',\"properties\":' || {props} || '}}'"
    ).format(
        id=sql.SQL(id_expr or c.id_expr),
        geom=geometry_out(geom_expr or c.geom_out, crs),
        dec=sql.Literal(crs.decimals),
        props=props,
    )


def source_sql(q: FeatureQuery) -> sql.Composable:
    """The collection's FROM clause; with ``as_of``, its table as it was then (the joined score
    tables stay today's: scores are derived and not kept in history)."""
    c = q.collection
    if q.as_of is None:
        return sql.SQL(c.source)
    table, rest = c.source.split(" ", 1)
    return sql.SQL("({}) {}").format(as_of_sql(table, q.as_of), sql.SQL(rest))


def feature_source(q: FeatureQuery) -> sql.Composable:
    """The collection's FROM clause plus the ``props`` lateral row of the output properties."""
    cols = q.output_props()
    if not cols:
        return source_sql(q)
    return sql.SQL("{} CROSS JOIN LATERAL (SELECT {}) props").format(
        source_sql(q),
        sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(sql.SQL(p.expr), sql.Identifier(p.name)) for p in cols
        ),
    )


def page_sql(q: FeatureQuery, binder: Binder, with_total: bool = False) -> sql.Composed:
    """One row: the page's features joined by commas, how many, (``with_total``) how many
    rows match in all, and the collection's ``layer_version`` rows as text (a count cache key).

    The ids are sorted and cut in a narrow subquery (an index-only scan for the default sort),
    then only the page's rows are joined to their wide row, geometry and properties: OFFSET
    over the wide rows cost 10 ms per page at offset 15,000 (GDAL pages by 10 through all of
    them). ``with_total`` counts the matches with a window over the rows the sort needs anyway
    (one scan instead of a second count query; only worth it for selective filters such as a
    bbox, where the sort reads every match regardless).
    """
    c = q.collection
    props = sql.SQL(", props") if q.output_props() else sql.SQL("")
    total = sql.SQL(", count(*) OVER () AS _n") if with_total else sql.SQL(", NULL::bigint AS _n")
    return sql.SQL(
        "SELECT coalesce(string_agg({feature}, ','), ''), count(*), max(page._n), "
        "(SELECT string_agg(layer || ':' || version || '@' || updated_at::text, ',' "
        "ORDER BY layer) FROM layer_version WHERE layer = ANY({layers})) FROM ("
        "SELECT {id} AS _id, {geom} AS _g{props}, _page_ids._n FROM ("
        "SELECT {id} AS _k{total} FROM {source} WHERE {where} "
        "ORDER BY {order} LIMIT {limit} OFFSET {offset}) _page_ids "
        "CROSS JOIN {wide} WHERE {id} = _page_ids._k ORDER BY {order}) page"
    ).format(
        feature=feature_json(q, "page._id", "page._g", "page.props"),
        id=sql.SQL(c.id_expr),
        geom=sql.SQL(c.geom_out),
        props=props,
        total=total,
        source=source_sql(q),
        wide=feature_source(q),
        where=where_clause(q, binder),
        order=order_clause(q),
        limit=binder.bind(q.limit, "bigint"),
        offset=binder.bind(q.offset, "bigint"),
        layers=binder.bind(list(c.versions), "text[]"),
    )


def stream_sql(q: FeatureQuery, binder: Binder) -> sql.Composed:
    """Every matching feature as a GeoJSON text row (exports; limit optional)."""
    limit = (
        sql.SQL("")
        if q.limit is None
        else sql.SQL(" LIMIT {}").format(binder.bind(q.limit, "bigint"))
    )
    return sql.SQL(
        "SELECT {feature} FROM {source} WHERE {where} ORDER BY {order}{limit} OFFSET {offset}"
    ).format(
        feature=feature_json(q),
        source=feature_source(q),
        where=where_clause(q, binder),
        order=order_clause(q),
        limit=limit,
        offset=binder.bind(q.offset, "bigint"),
    )


def rows_sql(q: FeatureQuery, binder: Binder, wkt: bool = False) -> sql.Composed:
    """Matching rows as (id, geometry in the output CRS as WKB or WKT, properties...)."""
    c = q.collection
    assert q.crs is not None
    cols = [sql.SQL(p.expr) for p in q.output_props()]
    limit = (
        sql.SQL("")
        if q.limit is None
        else sql.SQL(" LIMIT {}").format(binder.bind(q.limit, "bigint"))
    )
    out = geometry_out(c.geom_out, q.crs)
    geom = (
        sql.SQL("ST_AsText({}, {})").format(out, sql.Literal(q.crs.decimals))
        if wkt
        else sql.SQL("ST_AsBinary({})").format(out)
    )
    return sql.SQL(
        "SELECT {id}::text, {geom}{comma}{cols} FROM {source} WHERE {where} ORDER BY {order}"
        "{limit} OFFSET {offset}"
    ).format(
        id=sql.SQL(c.id_expr),
        geom=geom,
        comma=sql.SQL(", ") if cols else sql.SQL(""),
        cols=sql.SQL(", ").join(cols),
        source=source_sql(q),
        where=where_clause(q, binder),
        order=order_clause(q),
        limit=limit,
        offset=binder.bind(q.offset, "bigint"),
    )


def count_sql(q: FeatureQuery, binder: Binder, cap: int) -> sql.Composed:
    """How many rows match, counting at most ``cap + 1`` (beyond that we estimate)."""
    return sql.SQL(
        "SELECT count(*) FROM (SELECT 1 FROM {source} WHERE {where} LIMIT {cap}) n"
    ).format(source=source_sql(q), where=where_clause(q, binder), cap=sql.Literal(cap + 1))


def explain_sql(q: FeatureQuery, binder: Binder) -> sql.Composed:
    """The planner's row estimate of the filtered query (for large matches)."""
    return sql.SQL("EXPLAIN (FORMAT JSON) SELECT 1 FROM {source} WHERE {where}").format(
        source=source_sql(q), where=where_clause(q, binder)
    )


def tile_sql(
    q: FeatureQuery, binder: Binder, z: int, x: int, y: int, max_features: int
) -> sql.Composed:
    """An MVT tile of ``q``'s collection (layer named after the collection id).

    The tile envelope (EPSG:3857) is transformed to 2154 and expanded by the tile buffer for the
    index filter; only the selected rows are projected to 3857, from zoom
    :data:`~geo.tiles.AFFINE_MIN_ZOOM` on by the tile's affine stand-in for ``ST_Transform``.
    The feature id goes in as ``id`` only when no tile property already carries it.
    """
    c = q.collection
    props = [p for p in q.output_props() if p.in_tiles]
    zxy = sql.SQL("{}, {}, {}").format(
        binder.bind(z, "integer"), binder.bind(x, "integer"), binder.bind(y, "integer")
    )
    area = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(
        *(sql.Literal(v) for v in LAMBERT93_AREA_LONLAT)
    )
    cols = [sql.SQL("{} AS {}").format(sql.SQL(p.expr), sql.Identifier(p.name)) for p in props]
    if not any(p.expr == c.id_expr for p in props):
        cols.insert(0, sql.SQL("{}::text AS id").format(sql.SQL(c.id_expr)))
    geom: sql.Composable = sql.SQL(c.geom_out)
    if z >= AFFINE_MIN_ZOOM:
        coefs = lambert93_to_3857_affine(z, x, y)
        geom = sql.SQL("ST_Affine({}, {})").format(
            geom, sql.SQL(", ").join(binder.bind(v, "float8") for v in coefs)
        )
    else:
        geom = sql.SQL("ST_Transform({}, 3857)").format(geom)
    return sql.SQL(
        "WITH b AS (SELECT ST_TileEnvelope({zxy}) AS t3857, "
        "ST_Transform(ST_Segmentize(ST_Intersection(ST_Transform(ST_TileEnvelope({zxy}, margin => "
        "64.0 / 4096), 4326), {area}), 0.05), 2154) AS t2154) "
        "SELECT ST_AsMVT(m, {layer}, 4096, 'geom') FROM ("
        "SELECT ST_AsMVTGeom({geom}, b.t3857, 4096, 64, true) AS geom, {cols} "
        "FROM {source}, b WHERE {geomf} && b.t2154 AND {where} "
        "LIMIT {cap}) m WHERE m.geom IS NOT NULL"
    ).format(
        zxy=zxy,
        area=area,
        layer=sql.Literal(c.id),
        geom=geom,
        cols=sql.SQL(", ").join(cols),
        source=sql.SQL(c.source),
        geomf=sql.SQL(c.geom_expr),
        where=where_clause(q, binder),
        cap=sql.Literal(max_features),
    )


# Which database answers: the cluster's identifier (set by initdb) and the database's oid. With
# the layers' bump times below, an ETag can never be given again to different content: a dump
# restored into another database or cluster changes the identity, and a load after a restore into
# the same database bumps at a later time than any load before the dump, even when the version
# counters come back to the same numbers (issue 12: clients got 304s for changed tiles).
DATABASE_IDENTITY = (
    "(SELECT system_identifier::text FROM pg_control_system()) || '.' || "
    "(SELECT oid::text FROM pg_database WHERE datname = current_database())"
)


def etag_tile_sql(
    binder: Binder,
    layers: tuple[str, ...],
    key: tuple[str, str],
    if_none_match: list[str],
    any_match: bool,
    tile: sql.Composable | None,
) -> sql.Composed:
    """One statement for a tile request: its ETag, and the tile unless the ETag matches.

    The ETag is the first 32 hex digits of sha256(``key[0]`` + the database identity + the
    ``layer_version`` rows of ``layers``, each as its version and bump time (to the
    microsecond), + ``key[1]``), quoted; the tile subquery only runs when the ETag is not among
    ``if_none_match`` (nor ``any_match``, for ``If-None-Match: *``) and ``tile`` is given.
    Both in one round trip: the version lookup used to cost a statement of its own per tile.
    """
    etag = sql.SQL(
        "'\"' || left(encode(sha256(convert_to({} || " + DATABASE_IDENTITY + " || '|' || "
        "coalesce(string_agg(layer || ':' || version || '@' || "
        "extract(epoch FROM updated_at)::text, ',' ORDER BY layer), '') || {}, 'UTF8')), "
        "'hex'), 32) || '\"'"
    ).format(binder.bind(key[0], "text"), binder.bind(key[1], "text"))
    return sql.SQL(
        "SELECT v.etag, CASE WHEN {any} OR v.etag = ANY({inm}) THEN NULL ELSE ({tile}) END "
        "FROM (SELECT {etag} AS etag FROM layer_version WHERE layer = ANY({layers})) v"
    ).format(
        any=binder.bind(any_match, "boolean"),
        inm=binder.bind(if_none_match, "text[]"),
        tile=tile if tile is not None else sql.SQL("NULL::bytea"),
        etag=etag,
        layers=binder.bind(list(layers), "text[]"),
    )


def check_sortable(c: Collection, name: str, privileged: bool, parameter: str) -> Prop:
    """The queryable property ``name`` visible to this reader, or a 400 listing the valid ones."""
    prop = c.prop(name)
    if prop is None or not prop.queryable or (prop.restricted and not privileged):
        valid = [p.name for p in c.visible_props(privileged) if p.queryable]
        raise InvalidQuery(
            f"{parameter}: {name!r} is not a queryable property of {c.id}; use one of: "
            f"{', '.join(valid)}"
        )
    return prop
