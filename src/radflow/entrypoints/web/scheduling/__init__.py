"""Scheduling screens: the booking worklist, slot options, the day Gantt, the capacity dashboard, backlog plans."""
