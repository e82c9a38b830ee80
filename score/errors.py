"""Errors of a scoring run."""

from geo.errors import GeoError


class ScoreError(GeoError):
    """A scoring run that cannot start (unknown territory, empty scope)."""
