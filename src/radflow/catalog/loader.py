"""Load the shipped catalog (exam protocols, preparations, payer rules), validated as a whole.

``load_catalog()`` reads ``protocols.yaml`` and ``payers.yaml`` from this package (or from the
directory given), checks every entry and every field, and returns an immutable ``Catalog``. A file
with any problem is refused whole: ``CatalogError`` lists each problem with the file, the entry and
the field. Nothing is read at import time; a load takes tens of milliseconds, so a process loads
once at start (the composition root) and passes the catalog on. No module-level mutable state.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from radflow.catalog.reading import CatalogError, Entry, Problems, read_yaml
from radflow.domain.errors import NotFound
from radflow.domain.payer_rules import (
    AuthorizationOutcome,
    CareSetting,
    Payer,
    PayerKind,
    PayerRule,
    RuleConditions,
)
from radflow.domain.protocols import (
    BODY_PARTS,
    CAPABILITIES,
    Abstain,
    Abstinence,
    BodyRegion,
    ContrastAgent,
    ContrastPhase,
    ContrastRoute,
    ContrastVariant,
    CptGroup,
    ExamSelector,
    MedicationReview,
    Modality,
    Preparation,
    Protocol,
    Questionnaire,
    SequencingKind,
    SequencingNeed,
    Subspecialty,
)

__all__ = ["CPT_FORMAT", "Catalog", "CatalogError", "load_catalog"]

CATALOG_DIR = Path(__file__).parent
CPT_FORMAT = re.compile(r"^\d{4}[0-9FTU]$")  # Category I: 5 digits; II/III/PLA: 4 digits + F/T/U
_CODE = re.compile(r"^[A-Z]{2}-[A-Z0-9]+(?:-[A-Z0-9]+)*$")
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
_RULE_ID = re.compile(r"^[a-z][a-z0-9-]*$")

# Which payer families a modality's exams belong to: a CT protocol in cpt_group "mr" is a typo that
# would change who needs authorization.
_GROUPS_BY_MODALITY: dict[Modality, frozenset[CptGroup]] = {
    Modality.CT: frozenset({CptGroup.CT, CptGroup.CTA}),
    Modality.MR: frozenset({CptGroup.MR, CptGroup.MRA}),
    Modality.US: frozenset({CptGroup.US}),
    Modality.MG: frozenset({CptGroup.MG_SCREENING, CptGroup.MG_DIAGNOSTIC}),
    Modality.DX: frozenset({CptGroup.XR}),
    Modality.CR: frozenset({CptGroup.XR}),
    Modality.NM: frozenset({CptGroup.NM_GENERAL, CptGroup.NM_CARDIAC}),
    Modality.PT: frozenset({CptGroup.PET, CptGroup.NM_CARDIAC}),
    Modality.RF: frozenset({CptGroup.FLUORO}),
    Modality.XA: frozenset(),
}
# CPT's "with contrast" needs an agent, "without" forbids one; NM and PET variants carry a tracer.
_AGENTS_BY_PHASE: dict[ContrastPhase, frozenset[ContrastAgent]] = {
    ContrastPhase.WITHOUT: frozenset({ContrastAgent.NONE}),
    ContrastPhase.WITH: frozenset({ContrastAgent.IODINATED, ContrastAgent.GADOLINIUM, ContrastAgent.ORAL}),
    ContrastPhase.WITHOUT_AND_WITH: frozenset({ContrastAgent.IODINATED, ContrastAgent.GADOLINIUM}),
    ContrastPhase.TRACER: frozenset({ContrastAgent.TRACER}),
}
_DEFAULT_ROUTE: dict[ContrastAgent, ContrastRoute] = {
    ContrastAgent.NONE: ContrastRoute.NONE,
    ContrastAgent.IODINATED: ContrastRoute.IV,
    ContrastAgent.GADOLINIUM: ContrastRoute.IV,
    ContrastAgent.ORAL: ContrastRoute.ORAL,
    ContrastAgent.TRACER: ContrastRoute.IV,
}
# Medicare Physician Fee Schedule supervision indicator 2 (direct supervision) for contrast CT and
# MR, 42 CFR 410.32(b)(3)(ii): a contrast variant is supervised unless the catalog says otherwise.
_SUPERVISED_AGENTS = frozenset({ContrastAgent.IODINATED, ContrastAgent.GADOLINIUM})


@dataclass(frozen=True)
class Catalog:
    """The exam protocols, preparations and payers a center runs on, looked up by code and id."""

    protocols: Mapping[str, Protocol]
    payers: Mapping[str, Payer]
    preparations: Mapping[str, Preparation]
    by_cpt: Mapping[str, tuple[str, ContrastPhase]]

    def protocol(self, code: str) -> Protocol:
        """The protocol with this code; NotFound names the unknown code."""
        try:
            return self.protocols[code]
        except KeyError:
            raise NotFound(f"no exam protocol with code '{code}' in the catalog", field="protocol") from None

    def payer(self, payer_id: str) -> Payer:
        """The payer with this id; NotFound names the unknown id and the known ones."""
        try:
            return self.payers[payer_id]
        except KeyError:
            known = ", ".join(sorted(self.payers))
            raise NotFound(f"no payer '{payer_id}' in the catalog (known: {known})", field="payer") from None

    def protocol_for_cpt(self, cpt: str) -> tuple[Protocol, ContrastVariant]:
        """The protocol and variant an order naming only this (primary) CPT code means."""
        try:
            code, phase = self.by_cpt[cpt]
        except KeyError:
            raise NotFound(f"no exam protocol is billed as CPT '{cpt}' in the catalog", field="cpt") from None
        protocol = self.protocols[code]
        return protocol, protocol.variant(phase)

    def protocols_for_modality(self, modality: Modality | str) -> tuple[Protocol, ...]:
        """Protocols a scanner of this modality can perform (a CR room also does DX work), by code."""
        return tuple(p for p in self if p.can_be_performed_on(modality))

    def __iter__(self) -> Iterator[Protocol]:
        """Every protocol, in code order."""
        return iter([self.protocols[code] for code in sorted(self.protocols)])

    def __len__(self) -> int:
        """How many protocols the catalog holds."""
        return len(self.protocols)


def load_catalog(path: Path | None = None) -> Catalog:
    """Read and validate the catalog in directory `path` (default: the one shipped with radflow)."""
    directory = path or CATALOG_DIR
    problems = Problems()
    protocols_doc = read_yaml(directory / "protocols.yaml", problems)
    payers_doc = read_yaml(directory / "payers.yaml", problems)
    if protocols_doc is None or payers_doc is None:
        raise CatalogError(problems.items)
    protocols_doc.allow_only("version", "preparations", "protocols", problems=problems)
    payers_doc.allow_only("version", "payers", problems=problems)
    preparations = _read_preparations(protocols_doc, problems)
    protocols, refused_codes = _read_protocols(protocols_doc, preparations, problems)
    _check_shared_codes(protocols, refused_codes, problems)
    known_cpts = frozenset(c for p in protocols.values() for v in p.variants for c in v.cpt_codes)
    payers = _read_payers(payers_doc, known_cpts, problems)
    problems.raise_if_any()
    return Catalog(
        protocols=MappingProxyType(protocols),
        payers=MappingProxyType(payers),
        preparations=MappingProxyType(preparations),
        # Codes of protocols that bill `same_codes_as` another are read as that other one.
        by_cpt=MappingProxyType(
            {v.cpt: (p.code, v.phase) for p in protocols.values() if not p.same_codes_as for v in p.variants}
        ),
    )


def _read_preparations(doc: Entry, problems: Problems) -> dict[str, Preparation]:
    preparations: dict[str, Preparation] = {}
    for key, entry in doc.keyed_entries("preparations", "preparation", problems):
        with problems.collecting(entry):
            if not _KEY.match(key):
                entry.fail("key", f"'{key}' is not a preparation key (lower case letters, digits, _)")
            preparations[key] = Preparation(
                key=key,
                patient_text=entry.text("patient_text"),
                arrival_minutes_before=entry.integer("arrival_minutes_before", minimum=0),
                source=entry.text("source"),
                fasting_hours=entry.integer("fasting_hours", minimum=0, default=0),
                clear_liquids_allowed=entry.boolean("clear_liquids_allowed", default=True),
                hydration_ml=entry.integer("hydration_ml", minimum=0, default=0),
                hydration_finish_minutes_before=entry.integer(
                    "hydration_finish_minutes_before", minimum=0, default=0
                ),
                oral_contrast_minutes_before=entry.integer(
                    "oral_contrast_minutes_before", minimum=0, default=0
                ),
                full_bladder=entry.boolean("full_bladder", default=False),
                empty_bladder=entry.boolean("empty_bladder", default=False),
                no_deodorant_or_powder=entry.boolean("no_deodorant_or_powder", default=False),
                mammography_timing=entry.text("mammography_timing", default=""),
                medication_review=tuple(entry.choices("medication_review", MedicationReview)),
                abstain=tuple(_read_abstinence(item) for item in entry.entries("abstain")),
                bring=tuple(entry.texts("bring")),
            )
            entry.refuse_unknown()
        # A refused preparation stays as a blank placeholder so that the protocols using it do not
        # report it a second time; the load fails on the first problem anyway.
        preparations.setdefault(key, Preparation(key=key, patient_text="", arrival_minutes_before=0))
    return preparations


def _read_abstinence(item: Entry) -> Abstinence:
    abstinence = Abstinence(item.choice("what", Abstain), item.integer("hours", minimum=1))
    item.refuse_unknown()
    return abstinence


def _read_protocols(
    doc: Entry, preparations: Mapping[str, Preparation], problems: Problems
) -> tuple[dict[str, Protocol], set[str]]:
    """The protocols that read cleanly, and the codes of those refused (already reported)."""
    protocols: dict[str, Protocol] = {}
    refused: set[str] = set()
    for entry in doc.listed_entries("protocols", "protocol", problems, name_field="code"):
        refused.add(entry.name)
        with problems.collecting(entry):
            code = entry.text("code")
            if not _CODE.match(code):
                entry.fail("code", f"'{code}' is not a protocol code like MR-LSPINE (upper case and dashes)")
            if code in protocols:
                entry.fail("code", f"'{code}' is defined twice; protocol codes are unique")
            modality = entry.choice("modality", Modality)
            body_part = entry.text("body_part")
            if body_part not in BODY_PARTS:
                entry.fail("body_part", f"'{body_part}' is not a Body Part Examined term (PS3.16 Annex L)")
            cpt_group = entry.choice("cpt_group", CptGroup)
            if cpt_group not in _GROUPS_BY_MODALITY[modality]:
                fits = ", ".join(sorted(_GROUPS_BY_MODALITY[modality])) or "none"
                entry.fail("cpt_group", f"'{cpt_group}' does not fit modality {modality} (fits: {fits})")
            capabilities = entry.texts("capabilities")
            unknown = sorted(set(capabilities) - CAPABILITIES)
            if unknown:
                entry.fail("capabilities", f"unknown scanner capability '{unknown[0]}'")
            report_template = entry.text("report_template")
            if not _KEY.match(report_template):
                entry.fail("report_template", f"'{report_template}' is not a template key (lower case, _)")
            protocols[code] = Protocol(
                code=code,
                name=entry.text("name"),
                modality=modality,
                body_part=body_part,
                body_region=entry.choice("body_region", BodyRegion),
                subspecialty=entry.choice("subspecialty", Subspecialty),
                cpt_group=cpt_group,
                requires_protocoling=entry.boolean("requires_protocoling"),
                preparation=_preparation(entry, entry.text("preparation"), preparations),
                report_template=report_template,
                variants=_read_variants(entry, preparations),
                laterality_required=entry.boolean("laterality_required", default=False),
                capabilities=frozenset(capabilities),
                screening=frozenset(entry.choices("screening", Questionnaire)),
                sequencing=tuple(_read_sequencing(item) for item in entry.entries("sequencing")),
                same_codes_as=entry.optional_text("same_codes_as"),
                description=entry.text("description", default=""),
            )
            entry.refuse_unknown()
            refused.discard(code)
    return protocols, refused


def _preparation(entry: Entry, key: str, preparations: Mapping[str, Preparation]) -> Preparation:
    if key not in preparations:
        entry.fail("preparation", f"preparation '{key}' is not defined under 'preparations'")
    return preparations[key]


def _read_variants(entry: Entry, preparations: Mapping[str, Preparation]) -> tuple[ContrastVariant, ...]:
    items = entry.entries("variants")
    if not items:
        entry.fail("variants", "a protocol needs at least one contrast variant")
    variants: list[ContrastVariant] = []
    for item in items:
        phase = item.choice("phase", ContrastPhase)
        if any(v.phase == phase for v in variants):
            item.fail("phase", f"'{phase}' appears twice; one variant per contrast phase")
        agent = item.choice("agent", ContrastAgent, default=ContrastAgent.NONE)
        if agent not in _AGENTS_BY_PHASE[phase]:
            fits = ", ".join(sorted(_AGENTS_BY_PHASE[phase]))
            item.fail("agent", f"a '{phase}' variant cannot use agent '{agent}' (fits: {fits})")
        route = item.choice("route", ContrastRoute, default=_DEFAULT_ROUTE[agent])
        if (route is ContrastRoute.NONE) != (agent is ContrastAgent.NONE):
            item.fail("route", f"route '{route}' does not fit agent '{agent}'")
        minutes = item.integer("minutes")
        if minutes <= 0 or minutes % 5:
            item.fail("minutes", f"{minutes} is not a positive multiple of 5 (slots lie on a 5-minute grid)")
        prep_key = item.optional_text("preparation")
        variants.append(
            ContrastVariant(
                phase=phase,
                cpt=_cpt(item, "cpt", item.text("cpt")),
                minutes=minutes,
                agent=agent,
                route=route,
                supervision_required=item.boolean(
                    "supervision_required", default=agent in _SUPERVISED_AGENTS
                ),
                additional_cpts=tuple(_cpt(item, "additional_cpts", c) for c in item.texts("additional_cpts")),
                preparation=None if prep_key is None else _preparation(item, prep_key, preparations),
            )
        )
        item.refuse_unknown()
    return tuple(variants)


def _cpt(entry: Entry, field: str, code: str) -> str:
    if not CPT_FORMAT.match(code):
        entry.fail(field, f"'{code}' is not a CPT code (five digits, or four digits and F, T or U)")
    return code


def _read_sequencing(item: Entry) -> SequencingNeed:
    kind = item.choice("kind", SequencingKind)
    selector: ExamSelector | None = None
    if item.has("selector"):
        sel = item.child("selector")
        selector = ExamSelector(
            contrast_agents=frozenset(sel.choices("contrast_agents", ContrastAgent)),
            modalities=frozenset(sel.choices("modalities", Modality)),
            body_regions=frozenset(sel.choices("body_regions", BodyRegion)),
        )
        sel.refuse_unknown()
    need = SequencingNeed(
        kind=kind,
        reason=item.text("reason"),
        source=item.text("source"),
        selector=selector,
        gap_days=item.integer("gap_days", minimum=0, default=0),
        minutes=item.integer("minutes", minimum=0, default=0),
        latest_start=item.clock_time("latest_start") if item.has("latest_start") else None,
    )
    ordering = kind in (SequencingKind.BEFORE, SequencingKind.AFTER)
    if ordering and (selector is None or selector == ExamSelector()):
        item.fail("selector", f"a '{kind}' need must name the exams it comes {kind} (a non-empty selector)")
    if kind is SequencingKind.TRACER_UPTAKE and need.minutes <= 0:
        item.fail("minutes", "a tracer_uptake need must give the uptake wait in minutes")
    if kind is SequencingKind.EARLY_START and need.latest_start is None:
        item.fail("latest_start", "an early_start need must give latest_start as HH:MM")
    item.refuse_unknown()
    return need


def _check_shared_codes(protocols: Mapping[str, Protocol], refused: set[str], problems: Problems) -> None:
    """A primary CPT code names one protocol; others bill with it only through `same_codes_as`."""
    owner: dict[str, str] = {}
    for protocol in protocols.values():
        where = f"protocol '{protocol.code}'"
        if protocol.same_codes_as is None:
            for variant in protocol.variants:
                if variant.cpt in owner:
                    problems.add(
                        "protocols.yaml", where, "variants.cpt",
                        f"CPT {variant.cpt} is already the code of {owner[variant.cpt]}; set "
                        f"same_codes_as: {owner[variant.cpt]} if this exam is billed the same way",
                    )
                owner[variant.cpt] = protocol.code
            continue
        target = protocols.get(protocol.same_codes_as)
        if protocol.same_codes_as in refused:
            continue  # its own problem is reported; a second message here would mislead
        if target is None:
            problems.add("protocols.yaml", where, "same_codes_as", f"no protocol '{protocol.same_codes_as}'")
        elif target.same_codes_as is not None:
            problems.add(
                "protocols.yaml", where, "same_codes_as",
                f"{target.code} itself bills as {target.same_codes_as}; point at {target.same_codes_as}",
            )
        else:
            theirs = {v.cpt for v in target.variants}
            for variant in protocol.variants:
                if variant.cpt not in theirs:
                    listed = ", ".join(sorted(theirs))
                    problems.add(
                        "protocols.yaml", where, "same_codes_as",
                        f"CPT {variant.cpt} is not one of {target.code}'s codes ({listed})",
                    )


def _read_payers(doc: Entry, known_cpts: frozenset[str], problems: Problems) -> dict[str, Payer]:
    payers: dict[str, Payer] = {}
    rule_ids: set[str] = set()
    for entry in doc.listed_entries("payers", "payer", problems, name_field="id"):
        with problems.collecting(entry):
            payer_id = entry.text("id")
            if not _KEY.match(payer_id):
                entry.fail("id", f"'{payer_id}' is not a payer id (lower case letters, digits, _)")
            if payer_id in payers:
                entry.fail("id", f"'{payer_id}' is defined twice; payer ids are unique")
            default_validity = entry.optional_integer("approval_validity_days", minimum=1)
            rules = tuple(_read_rule(item, known_cpts, default_validity) for item in entry.entries("rules"))
            if not rules or not rules[-1].conditions.is_catch_all:
                entry.fail("rules", "the last rule must match everything (no 'when'): every exam gets an answer")
            for index, rule in enumerate(rules):
                if rule.id in rule_ids:
                    entry.fail(f"rules[{index}].id", f"rule id '{rule.id}' is used twice; ids are unique")
                rule_ids.add(rule.id)
                if rule.conditions.is_catch_all and index < len(rules) - 1:
                    entry.fail(f"rules[{index + 1}]", f"can never match: catch-all '{rule.id}' comes first")
            payers[payer_id] = Payer(
                id=payer_id,
                name=entry.text("name"),
                kind=entry.choice("kind", PayerKind),
                rules=rules,
                approval_validity_days=default_validity,
            )
            entry.refuse_unknown()
    return payers


def _read_rule(item: Entry, known_cpts: frozenset[str], default_validity: int | None) -> PayerRule:
    rule_id = item.text("id")
    if not _RULE_ID.match(rule_id):
        item.fail("id", f"'{rule_id}' is not a rule id (lower case letters, digits, dashes)")
    conditions = RuleConditions()
    if item.has("when"):
        when = item.child("when")
        codes = when.texts("cpt")
        for code in codes:
            _cpt(when, "cpt", code)
            if code not in known_cpts:
                when.fail("cpt", f"CPT {code} is not billed by any protocol in the catalog")
        conditions = RuleConditions(
            settings=frozenset(when.choices("setting", CareSetting)),
            modalities=frozenset(when.choices("modality", Modality)),
            cpt_groups=frozenset(when.choices("cpt_group", CptGroup)),
            contrast_agents=frozenset(when.choices("contrast", ContrastAgent)),
            cpt_codes=frozenset(codes),
        )
        when.refuse_unknown()
        if conditions.is_catch_all:
            item.fail("when", "an empty 'when' matches everything; leave it out on the last rule instead")
    outcome = item.choice("outcome", AuthorizationOutcome)
    validity = item.optional_integer("validity_days", minimum=1)
    if outcome is AuthorizationOutcome.REQUIRED and validity is None and default_validity is None:
        item.fail("validity_days", "a 'required' rule needs validity_days, or approval_validity_days on the payer")
    rule = PayerRule(
        id=rule_id,
        conditions=conditions,
        outcome=outcome,
        reason=item.text("reason"),
        citation=item.text("citation"),
        validity_days=validity,
    )
    item.refuse_unknown()
    return rule


# ----------------------------------------------------------------------------- reading entries
# Typed reads with the entry and field named in every message; a failure ends that entry only.
