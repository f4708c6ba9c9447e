"""Storage adapter: SQLAlchemy Core tables, the database handle (`db`), the transaction (`tx`)
and the stores, one module per aggregate, holding the queries services use (`stores`)."""
