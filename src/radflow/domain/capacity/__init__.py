"""The capacity model (sites, scanners, calendars, closures) and its resolution into UTC minutes."""
