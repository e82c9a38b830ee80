"""Pure spatial logic: CRS, validity, overlays, metrics and scoring. No web, no ORM session."""
