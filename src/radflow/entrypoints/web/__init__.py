"""radflow.entrypoints.web."""
