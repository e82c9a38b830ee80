"""Database-level errors that the CLI and the API turn into messages a user can act on."""


class DatabaseError(Exception):
    """Base class of the database errors of this project."""


class DatabaseUnavailable(DatabaseError):
    """PostgreSQL cannot be reached or started; the message says what to do."""


class SchemaOutOfDate(DatabaseError):
    """The database schema is not at the migrations' head."""
