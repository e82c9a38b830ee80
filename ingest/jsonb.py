"""File values as JSON text that PostgreSQL's jsonb accepts, nothing lost on the way.

A file's numbers may be non-finite: GDAL reads GeoJSON's ``Infinity``, ``-Infinity`` and ``NaN``
tokens as floats, and a CSV's ``inf`` text parses as one. JSON has no such numbers:
``json.dumps`` writes the bare tokens anyway and jsonb refuses them, which failed a whole file
(a site's extra attributes, a quarantined row's raw record). Here they become the JSON strings
``"Infinity"``, ``"-Infinity"`` and ``"NaN"``: the file's own spelling, which PostgreSQL reads
back as a number (``(raw->>'surface_ha')::float8``), where null would mean "no value" and hide
that the file had one.
"""

from __future__ import annotations

import json
import math

import numpy as np

NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}


def number_token(value: float) -> str | float:
    """A float as JSON may hold it: the file's token text when it is not finite.

    Example:
        >>> number_token(float("-inf")), number_token(float("nan")), number_token(1.5)
        ('-Infinity', 'NaN', 1.5)
    """
    if math.isfinite(value):
        return float(value)  # np.float64 too: a plain float
    return NON_FINITE.get(value, "NaN")


def json_ready(value: object) -> object:
    """``value`` with its non-finite floats as token text and numpy values as Python ones.

    Dicts, lists, tuples and arrays are walked; other values are returned as they are.

    Example:
        >>> json_ready({"surface_ha": float("inf"), "parts": np.array([1.0, np.nan])})
        {'surface_ha': 'Infinity', 'parts': [1.0, 'NaN']}
    """
    if isinstance(value, float):  # np.float64 too
        return number_token(value)
    if isinstance(value, np.generic):
        return json_ready(value.item())
    if isinstance(value, dict):
        return {k: json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(v) for v in value]
    return value


def _default(value: object) -> object:
    """What ``json.dumps`` cannot write itself: numpy values as Python ones, the rest as text."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    return str(value)


def jsonb_text(value: object) -> str:
    """``value`` as JSON text for a jsonb column (non-finite floats as ``"Infinity"``...).

    Example:
        >>> jsonb_text({"contenance": float("inf"), "numero": "0001"})
        '{"contenance": "Infinity", "numero": "0001"}'
    """
    try:
        # Nearly every value is finite: one plain dumps, no walk unless it refuses one.
        return json.dumps(value, allow_nan=False, default=_default)
    except ValueError:
        return json.dumps(json_ready(value), allow_nan=False, default=_default)
