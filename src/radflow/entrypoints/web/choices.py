"""The choices forms offer, read from the shipped catalog and the domain's vocabularies.

Reference data (protocols, payers) is not patient data: screens read it from the wired catalog
directly, as the REST API's catalog routes do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from radflow.domain.lifecycle import OrderState
from radflow.domain.order import Laterality, Track
from radflow.domain.payer_rules import CareSetting, Payer, PayerKind
from radflow.domain.protocols import ContrastPhase, ContrastVariant, Protocol
from radflow.domain.referral import DocumentKind, ReferralChannel

Option = tuple[str, str]

CONTRAST_WORDS: Final = {
    ContrastPhase.WITHOUT: "without contrast",
    ContrastPhase.WITH: "with contrast",
    ContrastPhase.WITHOUT_AND_WITH: "without and with contrast",
    ContrastPhase.TRACER: "radiotracer",
}
LATERALITY_WORDS: Final = {Laterality.LEFT: "Left", Laterality.RIGHT: "Right", Laterality.BILATERAL: "Bilateral"}
CHANNEL_WORDS: Final = {
    ReferralChannel.FAX: "Fax", ReferralChannel.E_ORDER: "E-order", ReferralChannel.SECURE_EMAIL: "Secure email",
    ReferralChannel.PORTAL: "Portal", ReferralChannel.SELF_REQUEST: "Self-request", ReferralChannel.HL7: "HL7",
}


@dataclass(frozen=True)
class ProtocolGroup:
    """Protocols of one modality, for an <optgroup>."""

    modality: str
    options: tuple[Option, ...]


def protocol_groups(protocols: Iterable[Protocol]) -> list[ProtocolGroup]:
    """Every protocol as 'MR-LSPINE — MRI lumbar spine', grouped by DICOM modality."""
    grouped: dict[str, list[Option]] = {}
    for protocol in protocols:
        grouped.setdefault(protocol.modality.value, []).append((protocol.code, f"{protocol.code} — {protocol.name}"))
    return [ProtocolGroup(modality, tuple(options)) for modality, options in sorted(grouped.items())]


def variant_label(variant: ContrastVariant) -> str:
    """'without contrast — CPT 72148, 30 min': what the protocoling radiologist chooses between."""
    codes = " + ".join(variant.cpt_codes)
    return f"{CONTRAST_WORDS.get(variant.phase, variant.phase.value)} — CPT {codes}, {variant.minutes} min"


def contrast_options() -> list[Option]:
    """The contrast plans a referral can state."""
    return [(phase.value, words) for phase, words in CONTRAST_WORDS.items()]


def laterality_options() -> list[Option]:
    """Left, right, bilateral."""
    return [(side.value, words) for side, words in LATERALITY_WORDS.items()]


def priority_options() -> list[Option]:
    """Routing tracks, most urgent first."""
    return [(Track.ROUTINE.value, "Routine"), (Track.URGENT.value, "Urgent"), (Track.STAT.value, "STAT")]


def setting_options() -> list[Option]:
    """Where the exam is done (payers exempt emergency and inpatient imaging)."""
    return [(setting.value, setting.value.capitalize()) for setting in CareSetting]


def channel_options() -> list[Option]:
    """How a referral reached the center (HL7 orders arrive by interface, not by this form)."""
    return [(channel.value, words) for channel, words in CHANNEL_WORDS.items() if channel is not ReferralChannel.HL7]


def document_kind_options() -> list[Option]:
    """What an uploaded file is."""
    return [(kind.value, kind.value.replace("_", " ").capitalize()) for kind in DocumentKind]


def payer_options(payers: Iterable[Payer]) -> list[Option]:
    """Insurance payers by name (self-pay is chosen with its own box, not as a payer)."""
    return sorted(((p.id, p.name) for p in payers if p.kind is not PayerKind.SELF_PAY), key=lambda option: option[1])


def state_options() -> list[Option]:
    """Every lifecycle state, in pipeline order."""
    return [(state.value, state.value.replace("_", " ").capitalize()) for state in OrderState]
