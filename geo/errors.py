"""Domain errors of the spatial layer; api/errors.py maps them to HTTP statuses."""


class GeoError(Exception):
    """Base class of the spatial domain errors."""


class CrsError(GeoError):
    """A file's coordinate reference system is missing, unknown or contradicted by its numbers."""
