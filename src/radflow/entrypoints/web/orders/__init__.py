"""Screens: orders."""
