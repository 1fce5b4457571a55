"""Biomedical knowledge-graph construction: literature to a Neo4j graph with provenance."""

__version__ = "0.1.0"
