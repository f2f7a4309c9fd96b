"""Screens of distribution, patient release and communication, follow-ups, records requests and the outcomes audit."""
