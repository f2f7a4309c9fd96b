"""Screens of preparation, reminders and no-shows: the reminder board, a visit's messages, contact and consent."""
