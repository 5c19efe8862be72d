"""The registry: SQLAlchemy models, repositories (all queries) and migrations."""
