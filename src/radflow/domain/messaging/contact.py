"""Contact preferences: which channels a patient may be reached on, consent and its revocation.

Patient messages under radflow are healthcare messages in the sense of the FCC's TCPA rulings: they
may go to a number the patient gave us (prior express consent, FCC 15-72 ¶141, 2015), and a patient
revokes that consent "by any reasonable means" — a STOP reply, a call to the center — with effect at
once (47 CFR 64.1200(a)(10), FCC 24-24, 2024). Email and letters are not TCPA channels, but radflow
keeps one rule for all: no consent, no message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import ValidationError
from radflow.domain.events import DomainEvent


def phone_address(raw: str) -> str:
    """A phone number as texts and calls address it (E.164: +1 and ten digits for a NANP number)."""
    digits = re.sub(r"[^0-9]", "", raw)
    if raw.strip().startswith("+"):
        return f"+{digits}" if digits else ""
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return f"+1{digits}" if len(digits) == 10 else digits


def normal_address(channel: Channel, raw: str) -> str:
    """An address as radflow stores and matches it: E.164 for phones, lower case for email."""
    if channel in PHONE_CHANNELS:
        return phone_address(raw)
    return raw.strip().lower() if channel is Channel.EMAIL else raw.strip()


class Channel(StrEnum):
    """How a message reaches a patient."""

    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"
    LETTER = "letter"  # printed and posted (or handed over at the desk)


#: Channels on which the FCC's telephone rules apply (calls and texts to a phone number).
PHONE_CHANNELS: frozenset[Channel] = frozenset({Channel.SMS, Channel.VOICE})

#: 47 CFR 64.1200(c)(1): no calls before 8 a.m. or after 9 p.m. at the called party's location.
#: radflow applies the same window to every electronic channel; a patient may narrow it.
TCPA_EARLIEST = time(8, 0)
TCPA_LATEST = time(21, 0)


@dataclass(frozen=True, kw_only=True)
class ConsentRevoked(DomainEvent):
    """A patient withdrew consent for one or more channels (a STOP reply, a call, a form)."""

    patient_id: str
    channels: tuple[str, ...]
    how: str


@dataclass(eq=False)
class ChannelConsent:
    """Consent for one channel: when and how it was given, when and how it was withdrawn."""

    patient_id: str
    channel: Channel
    address: str  # the number or address the consent was given for
    granted_at: datetime
    granted_how: str
    revoked_at: datetime | None = None
    revoked_how: str = ""
    id: int | None = None

    @property
    def is_active(self) -> bool:
        """True while the patient has not withdrawn it."""
        return self.revoked_at is None


@dataclass(eq=False)
class ContactPreference(Aggregate):
    """How one patient wants to hear from the center, and what they agreed to."""

    patient_id: str
    timezone: str
    created_at: datetime
    channels: list[str] = field(default_factory=list)  # preferred order, e.g. ["sms", "email"]
    earliest: time = TCPA_EARLIEST
    latest: time = TCPA_LATEST
    # HIPAA minimum necessary (45 CFR 164.502(b)): a text on a shared phone must not disclose the
    # exam unless the patient asked for it.
    exam_name_in_texts: bool = False
    language: str = "en"
    consents: list[ChannelConsent] = field(default_factory=list)
    updated_at: datetime | None = None
    version: int = 1

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Refuse a zone that does not exist and a window that is empty or outside the TCPA hours."""
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"unknown timezone '{self.timezone}': use an IANA name such as "
                                  "'America/Chicago'", field="timezone") from None
        if not self.earliest < self.latest:
            raise ValidationError("the daytime window must start before it ends", field="earliest")
        if self.earliest < TCPA_EARLIEST or self.latest > TCPA_LATEST:
            raise ValidationError("messages may go out only between 08:00 and 21:00 in the patient's zone "
                                  "(47 CFR 64.1200(c)(1)); choose a window inside it", field="earliest")
        for channel in self.channels:
            Channel(channel)

    @property
    def zone(self) -> ZoneInfo:
        """The recipient's own timezone (quiet hours are theirs, not the center's)."""
        return ZoneInfo(self.timezone)

    def consent(self, channel: Channel) -> ChannelConsent | None:
        """The newest consent record for `channel`, active or not."""
        found = [c for c in self.consents if c.channel is channel]
        return max(found, key=lambda c: c.granted_at) if found else None

    def may_use(self, channel: Channel) -> bool:
        """True when the patient consented to `channel` and has not withdrawn it."""
        found = self.consent(channel)
        return found is not None and found.is_active

    def grant(self, channel: Channel, address: str, *, how: str, at: datetime) -> None:
        """Record consent for a channel to this address (a new record; the history stays)."""
        if not address.strip():
            raise ValidationError(f"consent for {channel.value} needs the number or address it is for",
                                  field="address")
        address = normal_address(channel, address)
        current = self.consent(channel)
        if current is not None and current.is_active and current.address == address:
            return
        if current is not None and current.is_active:
            current.revoked_at, current.revoked_how = at, f"replaced by {address}"
        self.consents.append(ChannelConsent(patient_id=self.patient_id, channel=channel, address=address,
                                            granted_at=at, granted_how=how))
        if channel.value not in self.channels:
            self.channels.append(channel.value)
        self.updated_at = at

    def revoke(self, channels: frozenset[Channel], *, how: str, by: str, at: datetime) -> tuple[Channel, ...]:
        """Withdraw consent at once for `channels`; returns those that were active."""
        withdrawn: list[Channel] = []
        for channel in sorted(channels):
            current = self.consent(channel)
            if current is not None and current.is_active:
                current.revoked_at, current.revoked_how = at, how
                withdrawn.append(channel)
        if withdrawn:
            self.updated_at = at
            self.record(ConsentRevoked(at=at, by=by, patient_id=self.patient_id,
                                       channels=tuple(c.value for c in withdrawn), how=how))
        return tuple(withdrawn)

    def address_for(self, channel: Channel) -> str:
        """Where a message on `channel` goes (the address the consent was given for)."""
        found = self.consent(channel)
        return found.address if found is not None and found.is_active else ""

    def usable_channels(self) -> list[Channel]:
        """Consented channels in the patient's order of preference."""
        ordered = [Channel(c) for c in self.channels]
        return [c for c in ordered if self.may_use(c)]
