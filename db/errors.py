"""Database-level errors that the CLI and the API turn into messages a user can act on."""


class DatabaseError(Exception):
    """Base class of the database errors of this project."""


class DatabaseUnavailable(DatabaseError):
    """PostgreSQL cannot be reached or started; the message says what to do."""


class SchemaOutOfDate(DatabaseError):
    """The database schema is not at the migrations' head."""


class NotFound(DatabaseError):
    """A requested row or collection does not exist; the message names what was asked."""


class InvalidQuery(DatabaseError):
    """A query parameter or filter cannot be turned into SQL; the message says what to fix."""


class AccessDenied(DatabaseError):
    """The caller's API key is missing, unknown, or does not cover what it tries to change."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


class MissingExtension(DatabaseError):
    """A PostgreSQL extension the schema needs is absent and this role cannot create it."""


class RoleRefused(DatabaseError):
    """A role cannot be made the API's role (a superuser, or the schema's owner itself)."""


class UploadRefused(InvalidQuery):
    """An uploaded file refused: too large (413) or not of the accepted type (415)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status
