"""FHIR R4 (4.0.1) over HTTP at /fhir: routes that map requests to service commands and back."""
