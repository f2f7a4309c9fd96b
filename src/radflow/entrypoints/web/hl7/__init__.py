"""The HL7 interface monitor screens."""
