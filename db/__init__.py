"""Database access shared by ingest, geo scoring and the API: engine, models, migrations, SQL."""
