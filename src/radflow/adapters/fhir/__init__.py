"""radflow.adapters.fhir."""
