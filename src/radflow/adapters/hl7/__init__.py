"""radflow.adapters.hl7."""
