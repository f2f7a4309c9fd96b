"""The completeness checklist: rules as data (catalog/checklist.yaml), one small engine.

Each rule names a check from `CHECKS`, where it applies (modalities and/or protocol codes), and the
request the referrer receives when it fails. A failing order goes to `awaiting_documentation` with
the list of what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from radflow.domain.errors import ValidationError
from radflow.domain.values import Icd10Code, is_valid_npi

#: DX and CR are one display group ("XR"): a referral for an x-ray matches either.
_EQUIVALENT_MODALITIES: Final = {"DX": "XR", "CR": "XR", "XR": "XR"}


@dataclass(frozen=True)
class ChecklistFacts:
    """What the checklist looks at: the order as it stands and its protocol's catalog entry."""

    protocol_code: str
    protocol_modality: str
    requested_modality: str
    contrast_variants: frozenset[str]
    laterality_required: bool
    contrast: str | None
    laterality: str | None
    diagnosis_codes: tuple[str, ...]
    reason_for_exam: str
    ordering_provider_npi: str
    ordering_provider_name: str
    has_coverage: bool
    self_pay: bool
    # Where a radiologist protocols the exam, they choose the contrast: the referrer need not.
    contrast_chosen_at_protocoling: bool = False


@dataclass(frozen=True)
class ChecklistRule:
    """One completeness rule: which check, where it applies, what to ask the referrer for."""

    id: str
    check: str
    request: str
    modalities: frozenset[str] = frozenset()
    protocols: frozenset[str] = frozenset()
    params: Mapping[str, Any] = field(default_factory=dict)
    source: str = ""

    def applies_to(self, facts: ChecklistFacts) -> bool:
        """True when the rule covers this order's modality and protocol."""
        if self.protocols and facts.protocol_code not in self.protocols:
            return False
        return not self.modalities or facts.protocol_modality in self.modalities


@dataclass(frozen=True)
class MissingItem:
    """One failed rule: its id and the sentence sent to the referrer."""

    rule_id: str
    request: str
    detail: str = ""


@dataclass(frozen=True)
class ChecklistResult:
    """The outcome of a completeness check."""

    missing: tuple[MissingItem, ...]

    @property
    def passed(self) -> bool:
        """True when nothing is missing."""
        return not self.missing


def _diagnosis_code(facts: ChecklistFacts, params: Mapping[str, Any]) -> str | None:
    if not facts.diagnosis_codes:
        return "no diagnosis code"
    for code in facts.diagnosis_codes:
        try:
            Icd10Code.parse(code)
        except ValidationError as error:
            return error.message
    return None


def _clinical_indication(facts: ChecklistFacts, params: Mapping[str, Any]) -> str | None:
    minimum = int(params.get("min_length", 3))
    text = facts.reason_for_exam.strip()
    if len(text) < minimum:
        return "no clinical indication" if not text else f"clinical indication '{text}' is too short to act on"
    return None


def _contrast_plan(facts: ChecklistFacts, params: Mapping[str, Any]) -> str | None:
    if len(facts.contrast_variants) > 1 and facts.contrast is None and not facts.contrast_chosen_at_protocoling:
        choices = ", ".join(sorted(facts.contrast_variants))
        return f"contrast plan not stated (protocol offers: {choices})"
    if facts.contrast is not None and facts.contrast not in facts.contrast_variants:
        return f"contrast plan '{facts.contrast}' is not offered by protocol {facts.protocol_code}"
    return None


def _modality_matches(facts: ChecklistFacts, params: Mapping[str, Any]) -> str | None:
    requested = _EQUIVALENT_MODALITIES.get(facts.requested_modality, facts.requested_modality)
    protocol = _EQUIVALENT_MODALITIES.get(facts.protocol_modality, facts.protocol_modality)
    if requested != protocol:
        return (f"requested modality {facts.requested_modality} does not match protocol "
                f"{facts.protocol_code} ({facts.protocol_modality})")
    return None


def _ordering_provider(facts: ChecklistFacts, params: Mapping[str, Any]) -> str | None:
    if not facts.ordering_provider_npi.strip():
        return "ordering provider's NPI missing"
    if not is_valid_npi(facts.ordering_provider_npi):
        return f"ordering provider NPI '{facts.ordering_provider_npi}' fails its check digit"
    if not facts.ordering_provider_name.strip():
        return "ordering provider's name missing"
    return None


def _coverage(facts: ChecklistFacts, params: Mapping[str, Any]) -> str | None:
    if facts.has_coverage or facts.self_pay:
        return None
    return "no coverage and not marked self-pay"


def _laterality(facts: ChecklistFacts, params: Mapping[str, Any]) -> str | None:
    if facts.laterality_required and not facts.laterality:
        return "laterality (left, right or bilateral) not stated"
    return None


CheckFunction = Callable[[ChecklistFacts, Mapping[str, Any]], str | None]

#: The checks a rule may name. Adding one here is the only code change a new kind of rule needs.
CHECKS: Final[Mapping[str, CheckFunction]] = {
    "diagnosis_code": _diagnosis_code,
    "clinical_indication": _clinical_indication,
    "contrast_plan": _contrast_plan,
    "modality_matches_protocol": _modality_matches,
    "ordering_provider": _ordering_provider,
    "coverage_or_self_pay": _coverage,
    "laterality": _laterality,
}


def evaluate_checklist(rules: Sequence[ChecklistRule], facts: ChecklistFacts) -> ChecklistResult:
    """Run every applicable rule; the result lists what is missing, in rule order."""
    missing: list[MissingItem] = []
    for rule in rules:
        if not rule.applies_to(facts):
            continue
        detail = CHECKS[rule.check](facts, rule.params)
        if detail is not None:
            missing.append(MissingItem(rule_id=rule.id, request=rule.request, detail=detail))
    return ChecklistResult(tuple(missing))


def parse_rules(raw: object, *, origin: str = "checklist") -> tuple[ChecklistRule, ...]:
    """Validate the checklist data (a list of mappings) into rules; refuse it whole on any error."""
    if not isinstance(raw, dict) or not isinstance(raw.get("rules"), list):
        raise ValidationError(f"{origin}: expected a mapping with a 'rules' list")
    rules: list[ChecklistRule] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw["rules"]):
        where = f"{origin}: rule #{index + 1}"
        if not isinstance(entry, dict):
            raise ValidationError(f"{where}: expected a mapping")
        unknown = set(entry) - {"id", "check", "request", "modalities", "protocols", "params", "source"}
        if unknown:
            raise ValidationError(f"{where}: unknown field(s) {sorted(unknown)}")
        rule_id = str(entry.get("id", "")).strip()
        if not rule_id or rule_id in seen:
            raise ValidationError(f"{where}: 'id' missing or repeated ({rule_id!r})")
        seen.add(rule_id)
        check = entry.get("check")
        if check not in CHECKS:
            raise ValidationError(f"{where} ({rule_id}): unknown check {check!r}; known: {sorted(CHECKS)}")
        request = str(entry.get("request", "")).strip()
        if not request:
            raise ValidationError(f"{where} ({rule_id}): 'request' (what to ask the referrer) is required")
        rules.append(
            ChecklistRule(
                id=rule_id,
                check=str(check),
                request=request,
                modalities=frozenset(entry.get("modalities") or ()),
                protocols=frozenset(entry.get("protocols") or ()),
                params=dict(entry.get("params") or {}),
                source=str(entry.get("source", "")),
            )
        )
    return tuple(rules)
