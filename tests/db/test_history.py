"""Migration 0006: every versioned table has its history table, with the same columns in order."""

from sqlalchemy import Engine, text

from db.history import HIST_COLUMNS, VERSIONED, table_columns

_COLUMNS = (
    "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
    "WHERE attrelid = to_regclass(:t) AND attnum > 0 AND NOT attisdropped ORDER BY attnum"
)


def test_history_tables_mirror_their_live_tables(engine: Engine) -> None:
    with engine.connect() as conn:
        for table in VERSIONED:
            live = conn.execute(text(_COLUMNS), {"t": f"public.{table}"}).all()
            kept = conn.execute(text(_COLUMNS), {"t": f"history.{table}"}).all()
            # The trigger copies old rows positionally (o.*) after the hist_ columns.
            assert [c for c, _ in kept[: len(HIST_COLUMNS)]] == list(HIST_COLUMNS), table
            assert kept[len(HIST_COLUMNS) :] == live, table
            assert sorted(table_columns(table)) == sorted(c for c, _ in live), table


def test_every_versioned_table_keeps_updates_and_deletes(engine: Engine) -> None:
    with engine.connect() as conn:
        triggers = set(
            conn.execute(
                text(
                    "SELECT c.relname || ':' || t.tgname FROM pg_trigger t "
                    "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
                )
            ).scalars()
        )
    for table in VERSIONED:
        assert {f"{table}:keep_history_update", f"{table}:keep_history_delete"} <= triggers
