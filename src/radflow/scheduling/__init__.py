"""radflow.scheduling."""
