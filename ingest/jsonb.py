r"""File values as JSON text that PostgreSQL's jsonb accepts, nothing lost on the way.

A file's numbers may be non-finite: GDAL reads GeoJSON's ``Infinity``, ``-Infinity`` and ``NaN``
tokens as floats, and a CSV's ``inf`` text parses as one. JSON has no such numbers:
``json.dumps`` writes the bare tokens anyway and jsonb refuses them, which failed a whole file
(a site's extra attributes, a quarantined row's raw record). Here they become the JSON strings
``"Infinity"``, ``"-Infinity"`` and ``"NaN"``: the file's own spelling, which PostgreSQL reads
back as a number (``(raw->>'surface_ha')::float8``), where null would mean "no value" and hide
that the file had one.

Nor can jsonb (or text) hold the NUL character U+0000: ``json.dumps`` writes it as the escape
``\u0000``, which jsonb refuses, failing the file. In a string (or a key) it becomes the
visible six characters ``\u0000`` (JSON ``"\\u0000"``): the spelling a GeoJSON file uses for it,
so the record still shows where the file had one; U+FFFD would say "a byte that could not be
decoded", which is another fault.
"""

from __future__ import annotations

import json
import math

import numpy as np

NON_FINITE = {math.inf: "Infinity", -math.inf: "-Infinity"}
NUL = "\x00"
# Six visible characters where the file had the one NUL; also how json.dumps escapes a NUL.
NUL_TEXT = "\\u0000"


def nul_free(text: str) -> str:
    r"""``text`` with each NUL character (U+0000) as the visible text ``\u0000``.

    PostgreSQL's text and jsonb cannot hold a NUL; this keeps where the file had one.

    Example:
        >>> print(nul_free("Zo" + chr(0) + "ne"))
        Zo\u0000ne
    """
    return text.replace(NUL, NUL_TEXT)


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
    r"""``value`` with its non-finite floats as token text, its NUL characters as the text
    ``\u0000`` (see :func:`nul_free`) and numpy values as Python ones.

    Dicts, lists, tuples and arrays are walked; other values are returned as they are.

    Example:
        >>> json_ready({"surface_ha": float("inf"), "parts": np.array([1.0, np.nan])})
        {'surface_ha': 'Infinity', 'parts': [1.0, 'NaN']}
    """
    if isinstance(value, str):
        return nul_free(value) if NUL in value else value
    if isinstance(value, float):  # np.float64 too
        return number_token(value)
    if isinstance(value, np.generic):
        return json_ready(value.item())
    if isinstance(value, dict):
        return {nul_free(str(k)): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [json_ready(v) for v in value]
    return value


def _default(value: object) -> object:
    """What ``json.dumps`` cannot write itself: numpy values as Python ones, the rest as text."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    return nul_free(str(value))


def jsonb_text(value: object) -> str:
    r"""``value`` as JSON text for a jsonb column (non-finite floats as ``"Infinity"``, NUL
    characters as the text ``\u0000``).

    Example:
        >>> jsonb_text({"contenance": float("inf"), "numero": "0001"})
        '{"contenance": "Infinity", "numero": "0001"}'
        >>> print(jsonb_text({"nom": "Zo" + chr(0) + "ne"}))
        {"nom": "Zo\\u0000ne"}
    """
    try:
        # Nearly every value is finite and NUL-free: one plain dumps and one substring search,
        # no walk unless one is found (a file's own text "\\u0000" only costs the walk).
        text = json.dumps(value, allow_nan=False, default=_default)
    except ValueError:
        return json.dumps(json_ready(value), allow_nan=False, default=_default)
    if NUL_TEXT in text:  # ensure_ascii: a NUL is never written bare
        return json.dumps(json_ready(value), allow_nan=False, default=_default)
    return text
