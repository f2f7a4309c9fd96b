"""Payer rules: does this exam need prior authorization from this payer, and why.

Each payer's rules are data (``radflow/catalog/payers.yaml``), each citing the policy it models.
Semantics are **first match**: a payer's rules are read top to bottom and the first rule whose
conditions all hold decides. Exemptions (emergency, inpatient, screening mammography) therefore come
before the broad "advanced imaging needs authorization" rule, exactly as the payers' program documents
list their exclusions before their scope. Every payer ends with a catch-all rule (the loader refuses a
payer without one), so every question gets an answer with a citation.

Within one rule, every condition given must hold (AND); within one condition, any listed value
matches (OR); a condition not given matches anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from radflow.domain.errors import ValidationError
from radflow.domain.protocols import ContrastAgent, ContrastVariant, CptGroup, Modality, Protocol


class CareSetting(StrEnum):
    """Where the exam is done; payers exempt emergency and inpatient imaging almost everywhere."""

    OUTPATIENT = "outpatient"
    EMERGENCY = "emergency"
    INPATIENT = "inpatient"
    OBSERVATION = "observation"


class PayerKind(StrEnum):
    """The kind of coverage, as a coordinator names it."""

    COMMERCIAL = "commercial"
    MEDICARE = "medicare"
    MEDICARE_ADVANTAGE = "medicare_advantage"
    MEDICAID = "medicaid"
    SELF_PAY = "self_pay"


class AuthorizationOutcome(StrEnum):
    """What a rule decides."""

    REQUIRED = "required"
    NOT_REQUIRED = "not_required"


@dataclass(frozen=True)
class RuleConditions:
    """What a rule matches on; an empty set matches anything."""

    settings: frozenset[CareSetting] = frozenset()
    modalities: frozenset[Modality] = frozenset()
    cpt_groups: frozenset[CptGroup] = frozenset()
    contrast_agents: frozenset[ContrastAgent] = frozenset()
    cpt_codes: frozenset[str] = frozenset()

    @property
    def is_catch_all(self) -> bool:
        """Whether the rule matches every exam in every setting."""
        return not (
            self.settings or self.modalities or self.cpt_groups or self.contrast_agents or self.cpt_codes
        )

    def hold_for(self, protocol: Protocol, variant: ContrastVariant, setting: CareSetting) -> bool:
        """Whether every condition given holds for this exam in this setting."""
        return (
            (not self.settings or setting in self.settings)
            and (not self.modalities or protocol.modality in self.modalities)
            and (not self.cpt_groups or protocol.cpt_group in self.cpt_groups)
            and (not self.contrast_agents or variant.agent in self.contrast_agents)
            # A multi-code exam (CT chest-abdomen-pelvis) matches when any of its codes is listed:
            # the payer reviews the whole request if one code is in scope.
            and (not self.cpt_codes or not self.cpt_codes.isdisjoint(variant.cpt_codes))
        )


@dataclass(frozen=True)
class PayerRule:
    """One line of a payer's policy: conditions, outcome, why, and the policy it models."""

    id: str
    conditions: RuleConditions
    outcome: AuthorizationOutcome
    reason: str
    citation: str
    validity_days: int | None = None  # overrides the payer's default approval validity


@dataclass(frozen=True)
class Payer:
    """A payer (or self-pay) with its ordered rules."""

    id: str
    name: str
    kind: PayerKind
    rules: tuple[PayerRule, ...]
    approval_validity_days: int | None = None


@dataclass(frozen=True)
class AuthorizationRequirement:
    """The answer a coordinator reads: required or not, which rule decided, and its citation."""

    required: bool
    payer_id: str
    rule_id: str
    citation: str
    explanation: str
    cpt_codes: tuple[str, ...]
    validity_days: int | None  # how long an approval stays valid; None when nothing to approve


def deciding_rule(
    payer: Payer, protocol: Protocol, variant: ContrastVariant, setting: CareSetting
) -> PayerRule:
    """The first of the payer's rules whose conditions hold (first-match semantics)."""
    for rule in payer.rules:
        if rule.conditions.hold_for(protocol, variant, setting):
            return rule
    # Unreachable for a loaded catalog (each payer ends with a catch-all); a hand-built payer may lack one.
    raise ValidationError(
        f"payer {payer.id} has no rule for {protocol.code} ({variant.phase}) in the {setting} setting; "
        "end its rules with a catch-all",
        field="rules",
    )


def authorization_requirement(
    payer: Payer, protocol: Protocol, variant: ContrastVariant, setting: CareSetting
) -> AuthorizationRequirement:
    """Decide whether `payer` needs prior authorization for this exam in this setting."""
    if variant not in protocol.variants:
        raise ValidationError(
            f"variant CPT {variant.cpt} is not a variant of protocol {protocol.code}", field="contrast"
        )
    rule = deciding_rule(payer, protocol, variant, setting)
    required = rule.outcome is AuthorizationOutcome.REQUIRED
    codes = " + ".join(variant.cpt_codes)
    verdict = "Prior authorization required" if required else "No prior authorization needed"
    explanation = (
        f"{verdict}: {payer.name}, {protocol.name} (CPT {codes}, {variant.phase.value.replace('_', ' ')}), "
        f"{setting.value}. {rule.reason}"
    )
    validity = (rule.validity_days or payer.approval_validity_days) if required else None
    return AuthorizationRequirement(
        required=required,
        payer_id=payer.id,
        rule_id=rule.id,
        citation=rule.citation,
        explanation=explanation,
        cpt_codes=variant.cpt_codes,
        validity_days=validity,
    )
