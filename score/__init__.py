"""Scoring: ZAN accounts, land status, land units and availability scores (``foncier score``).

``geo/`` holds the pure spatial logic; this package runs the scoring in PostGIS: ``run`` chains
the steps, ``scope`` chooses the communes, ``params`` turns the profile (``profile``,
``profiles/*.toml``) into bound parameters of the SQL files in ``sql/``.
"""

from score.errors import ScoreError
from score.run import STEPS, ScoreReport, score
from score.scope import parse_territory

__all__ = ["STEPS", "ScoreError", "ScoreReport", "parse_territory", "score"]
