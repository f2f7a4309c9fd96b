"""Protocoling screens: the radiologists' queue and the protocol form."""
