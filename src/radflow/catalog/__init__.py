"""radflow.catalog."""
