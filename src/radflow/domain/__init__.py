"""radflow.domain."""
