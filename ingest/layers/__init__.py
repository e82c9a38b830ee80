"""One module per layer family; importing this package registers every layer."""

from ingest.layers import admin, constraints, enaf, friches, parcels, plu, scot, sites, territoires  # noqa: F401  # noqa: F401, E402 - constraint and ZAN layers  # noqa: F401, E402 - land layers
