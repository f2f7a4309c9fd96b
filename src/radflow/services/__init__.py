"""radflow.services."""
