"""Contact details and consent: read, change, withdraw (a call to the desk revokes at once)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from radflow.domain.errors import ValidationError
from radflow.domain.messaging.contact import Channel, ContactPreference
from radflow.domain.messaging.message import MessageEvent
from radflow.domain.patient import Patient
from radflow.domain.policy import AccessTarget, Action
from radflow.domain.users import Principal
from radflow.services.access import guard
from radflow.services.audit import record_access
from radflow.services.bus import Handler
from radflow.services.context import ServiceContext
from radflow.services.reminders.planning import default_preference
from radflow.services.reminders.ports import messaging
from radflow.services.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ConsentLine:
    """One consent record as a screen shows it."""

    channel: str
    address: str
    granted_at: datetime
    granted_how: str
    revoked_at: datetime | None
    revoked_how: str


@dataclass(frozen=True)
class ContactView:
    """A patient's contact details, channels and consent history."""

    patient_id: str
    display_name: str
    phone: str
    email: str
    timezone: str
    earliest: time
    latest: time
    exam_name_in_texts: bool
    channels: tuple[str, ...]
    usable: tuple[str, ...]
    consents: tuple[ConsentLine, ...]
    saved: bool  # False: not stored yet, derived from the patient record


def contact_view(patient: Patient, preference: ContactPreference, *, saved: bool) -> ContactView:
    """The screen's view of a preference."""
    return ContactView(
        patient_id=patient.id, display_name=patient.display_name, phone=patient.phone, email=patient.email,
        timezone=preference.timezone, earliest=preference.earliest, latest=preference.latest,
        exam_name_in_texts=preference.exam_name_in_texts, channels=tuple(preference.channels),
        usable=tuple(c.value for c in preference.usable_channels()),
        consents=tuple(ConsentLine(c.channel.value, c.address, c.granted_at, c.granted_how, c.revoked_at,
                                   c.revoked_how) for c in sorted(preference.consents, key=lambda c: c.granted_at)),
        saved=saved)


def _load(uow: UnitOfWork, ctx: ServiceContext, actor: Principal, patient_id: str,
          action: Action) -> tuple[Patient, ContactPreference, bool]:
    patient = uow.patients.get(patient_id)
    guard(actor, action, AccessTarget(patient_id=patient.id), object_type="patient", object_id=patient.id)
    found = messaging(uow).preference(patient.id, for_update=action is Action.CONTACT_WRITE)
    if found is not None:
        return patient, found, True
    return patient, default_preference(patient, zone=ctx.settings.zone, at=ctx.clock.now()), False


@dataclass(frozen=True)
class GetContactPreference:
    """A patient's contact details, channels and consent."""

    actor: Principal
    patient_id: str


def get_contact_preference(cmd: GetContactPreference, uow: UnitOfWork, ctx: ServiceContext) -> ContactView:
    """Read the preference (derived from the patient record until first saved)."""
    with uow:
        patient, preference, saved = _load(uow, ctx, cmd.actor, cmd.patient_id, Action.CONTACT_READ)
        record_access(uow, ctx, cmd.actor, "contact.read", patient_id=patient.id, object_type="patient",
                      object_id=patient.id)
        uow.commit()
        return contact_view(patient, preference, saved=saved)


@dataclass(frozen=True)
class UpdateContactPreference:
    """Change contact details or preferences; a new number or address is consented as given by the patient."""

    actor: Principal
    patient_id: str
    how: str  # how the patient told us: "at the desk", "by phone", "on the portal"
    phone: str | None = None
    email: str | None = None
    channels: tuple[str, ...] | None = None
    timezone: str | None = None
    earliest: time | None = None
    latest: time | None = None
    exam_name_in_texts: bool | None = None


def update_contact_preference(cmd: UpdateContactPreference, uow: UnitOfWork, ctx: ServiceContext) -> ContactView:
    """Apply the changes; the patient record's phone and email follow."""
    if not cmd.how.strip():
        raise ValidationError("say how the patient told us (at the desk, by phone, on the portal)", field="how")
    with uow:
        patient, preference, saved = _load(uow, ctx, cmd.actor, cmd.patient_id, Action.CONTACT_WRITE)
        now = ctx.clock.now()
        how = f"given by the patient {cmd.how.strip()}"
        changed = []
        if cmd.phone is not None and cmd.phone.strip() != patient.phone:
            patient.phone = cmd.phone.strip()
            for channel in (Channel.SMS, Channel.VOICE):
                preference.grant(channel, patient.phone, how=how, at=now)
            changed.append("phone")
        if cmd.email is not None and cmd.email.strip() != patient.email:
            if "@" not in cmd.email:
                raise ValidationError(f"'{cmd.email}' is not an email address", field="email")
            patient.email = cmd.email.strip()
            preference.grant(Channel.EMAIL, patient.email, how=how, at=now)
            changed.append("email")
        if cmd.channels is not None:
            try:
                ordered = [Channel(c).value for c in cmd.channels]
            except ValueError:
                raise ValidationError(f"channels {list(cmd.channels)} may only name email, sms, voice, letter",
                                      field="channels") from None
            preference.channels = ordered + [c for c in preference.channels if c not in ordered]
            changed.append("channels")
        for name in ("timezone", "earliest", "latest", "exam_name_in_texts"):
            value = getattr(cmd, name)
            if value is not None and value != getattr(preference, name):
                setattr(preference, name, value)
                changed.append(name)
        preference.validate()
        preference.updated_at = now
        if not saved:
            messaging(uow).add_preference(preference)
        record_access(uow, ctx, cmd.actor, "contact.update", patient_id=patient.id, object_type="patient",
                      object_id=patient.id, detail=f"{','.join(changed) or 'nothing'} ({cmd.how.strip()})")
        uow.commit()
        return contact_view(patient, preference, saved=True)


@dataclass(frozen=True)
class RevokeConsent:
    """The patient withdrew consent for these channels (a call, a letter, at the desk): it applies at once."""

    actor: Principal
    patient_id: str
    channels: tuple[str, ...]
    how: str


def revoke_consent(cmd: RevokeConsent, uow: UnitOfWork, ctx: ServiceContext) -> ContactView:
    """Withdraw consent and suppress every message still waiting on those channels."""
    if not cmd.how.strip():
        raise ValidationError("say how the patient withdrew consent (e.g. 'called the desk')", field="how")
    try:
        channels = frozenset(Channel(c) for c in cmd.channels)
    except ValueError:
        raise ValidationError(f"channels {list(cmd.channels)} may only name email, sms, voice, letter",
                              field="channels") from None
    if not channels:
        raise ValidationError("name at least one channel", field="channels")
    with uow:
        patient, preference, saved = _load(uow, ctx, cmd.actor, cmd.patient_id, Action.CONTACT_WRITE)
        now = ctx.clock.now()
        # 47 CFR 64.1200(a)(10): a revocation by any reasonable means is honoured (within ten business days
        # at the latest); radflow honours it before the next message.
        how = f"{cmd.how.strip()} (47 CFR 64.1200(a)(10))"
        preference.revoke(channels, how=how, by=cmd.actor.user_id, at=now)
        if not saved:
            messaging(uow).add_preference(preference)
        for message in messaging(uow).messages_for_patient(patient.id):
            if message.is_open and message.channel in channels:
                message.apply(MessageEvent.SUPPRESS, at=now, detail=f"consent withdrawn: {how}")
        record_access(uow, ctx, cmd.actor, "contact.revoke", patient_id=patient.id, object_type="patient",
                      object_id=patient.id, detail=f"{','.join(sorted(channels))}: {cmd.how.strip()}")
        uow.commit()
        return contact_view(patient, preference, saved=True)


HANDLERS: dict[type, Handler] = {
    GetContactPreference: get_contact_preference,
    UpdateContactPreference: update_contact_preference,
    RevokeConsent: revoke_consent,
}
