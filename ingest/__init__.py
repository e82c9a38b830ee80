"""Ingest pipelines: read publishers' files, normalise, COPY to staging, validate, merge."""
