"""radflow.adapters.db."""
