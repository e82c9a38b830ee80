"""One module per layer family; importing this package registers every layer."""

from ingest.layers import admin, territoires  # noqa: F401
from ingest.layers import constraints, enaf  # noqa: F401, E402 - constraint and ZAN layers
from ingest.layers import friches, parcels, plu, sites  # noqa: F401, E402 - land layers
