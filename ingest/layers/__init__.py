"""One module per layer family; importing this package registers every layer."""

from ingest.layers import admin, territoires  # noqa: F401
