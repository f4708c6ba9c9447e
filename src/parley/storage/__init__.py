"""Storage adapter: SQLAlchemy Core tables, the database handle and the queries services use."""
