"""Errors of the ingest pipelines. Each message names the file (and feature) and what to do."""


class IngestError(Exception):
    """Base class: the run failed and nothing was merged."""


class SourceError(IngestError):
    """The file cannot be read: missing, corrupt, unknown format, no CRS, bad encoding."""


class LayoutError(IngestError):
    """The file reads, but its columns are not those of the layer asked for."""


class StrictModeError(IngestError):
    """``--strict`` was given and some rows were quarantined."""


class ShrinkRefusedError(IngestError):
    """A load would delete more of the rows it replaces than the shrink guard allows."""


class LoadBusyError(IngestError):
    """Another load holds a table this one needs, or a lock could not be had: retry later."""
