"""Knowledge stores: the Protocols (base), SQLite and PostgreSQL backends, and open_store."""
