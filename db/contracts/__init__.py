"""Territoires d'industrie contracts: the programmes' axes (``axes.toml``) and their reading."""
