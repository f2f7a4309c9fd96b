"""Reading posted forms, and the errors a form shows next to its fields.

A screen posts a form, the route turns it into a command and hands it to the bus. When the service
refuses the input (malformed, incomplete, conflicting with the order's state) the same form comes
back with the service's message beside the field it names, and what the user typed kept: that is
how the screens map `ValidationError`, `Conflict` and `NotFound` (the other errors get a page of
their own from `error_pages.ScreenRoute`, as the API's handlers map them to problem+json).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated, Final
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from starlette.datastructures import FormData, UploadFile

from radflow.domain.errors import Conflict, NotFound, RadflowError, ValidationError

#: The errors a form shows inline; anything else (forbidden, signed out) is not the form's fault.
FORM_ERRORS: Final = (ValidationError, Conflict, NotFound)


async def posted_form(request: Request) -> FormData:
    """The posted form (parsed once; the CSRF check has usually read it already)."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(posted_form)]


@dataclass(frozen=True)
class FormError:
    """A refusal to show on a form: the message and the field it is about (if any)."""

    message: str
    field: str | None = None

    @classmethod
    def of(cls, error: RadflowError) -> FormError:
        """The service's own message, which names the problem in the trade's words."""
        return cls(error.message, error.field)


class FormFields:
    """Typed access to a posted form's fields."""

    def __init__(self, form: FormData) -> None:
        self.form = form

    def text(self, name: str) -> str:
        """The field's text, trimmed; '' when absent."""
        value = self.form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def optional(self, name: str) -> str | None:
        """The field's text, or None when absent or blank."""
        return self.text(name) or None

    def flag(self, name: str) -> bool:
        """A checkbox: ticked or not."""
        return self.text(name).lower() in ("on", "true", "1", "yes")

    def codes(self, name: str) -> tuple[str, ...]:
        """A list typed into one box ('M54.16, M51.26' or one per line)."""
        return tuple(part for part in re.split(r"[\s,;]+", self.text(name)) if part)

    def upload(self, name: str) -> UploadFile | None:
        """An attached file, or None when no file was chosen."""
        value = self.form.get(name)
        if isinstance(value, UploadFile) and value.filename:
            return value
        return None

    def day(self, name: str) -> date | None:
        """A date field (YYYY-MM-DD); a malformed value is refused with the field named."""
        raw = self.text(name)
        if not raw:
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ValidationError(f"'{raw}' is not a date; use YYYY-MM-DD", field=name) from None

    def local_instant(self, name: str, zone: ZoneInfo, *, end_of_day: bool = False) -> datetime | None:
        """A date typed in the center's zone, as a UTC-aware instant (start of that day, or its end)."""
        day = self.day(name)
        if day is None:
            return None
        moment = datetime.combine(day, time.max if end_of_day else time.min, tzinfo=zone)
        return moment.astimezone(UTC)

    def values(self) -> dict[str, str]:
        """Every text field as typed, to fill the form again after a refusal."""
        return {key: value for key, value in self.form.multi_items() if isinstance(value, str)}
