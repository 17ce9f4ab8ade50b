"""Storage: SQLAlchemy tables, the database engine with its write transactions, migrations."""
