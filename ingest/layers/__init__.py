"""One module per layer family; importing this package registers every layer."""

from ingest.layers import (  # noqa: F401 - imported for their register() calls
    admin,
    buildings,
    cog,
    constraints,
    enaf,
    establishments,
    friches,
    owners,
    parcels,
    plu,
    scot,
    sites,
    territoires,
    transport,
    zae,
)
