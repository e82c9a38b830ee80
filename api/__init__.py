"""The HTTP service: OGC API Features and Tiles, search, territory figures, exports, map pages."""
