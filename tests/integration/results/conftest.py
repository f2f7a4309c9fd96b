"""The results area's integration tests: the shared fixtures of tests/conftest.py, on SQLite and PostgreSQL."""
