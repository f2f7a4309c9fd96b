"""iCalendar files for appointments (RFC 5545), sent as invitations (RFC 5546 iTIP) with the email."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from icalendar import Alarm, Calendar, Event, vCalAddress

from radflow.services.reminders.ports import CalendarEvent

PRODID = "-//radflow//imaging appointments//EN"


class ICalendarWriter:
    """Writes a visit's appointments as one VCALENDAR (icalendar)."""

    def invite(self, events: Sequence[CalendarEvent], *, stamp: datetime, organizer: str) -> bytes:
        """METHOD:REQUEST for booked visits; METHOD:CANCEL when every event is cancelled (RFC 5546 3.2.5)."""
        if not events:
            raise ValueError("a calendar invitation needs at least one appointment")
        calendar = Calendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("method", "CANCEL" if all(e.cancelled for e in events) else "REQUEST")
        for item in events:
            event = Event()
            event.add("uid", item.uid)
            # RFC 5546 2.1.4: the same UID with a higher SEQUENCE replaces the copy a calendar holds.
            event.add("sequence", item.sequence)
            event.add("dtstamp", stamp)
            event.add("dtstart", item.start)
            event.add("dtend", item.end)
            event.add("summary", item.summary)
            event.add("description", item.description)
            event.add("location", item.location)
            event.add("status", "CANCELLED" if item.cancelled else "CONFIRMED")
            event.add("transp", "OPAQUE")
            if organizer:
                address = vCalAddress(f"mailto:{organizer}")
                event.add("organizer", address)
            if not item.cancelled:
                alarm = Alarm()
                alarm.add("action", "DISPLAY")
                alarm.add("description", item.summary)
                alarm.add("trigger", -timedelta(hours=2))
                event.add_component(alarm)
            calendar.add_component(event)
        content: bytes = calendar.to_ical()
        return content

