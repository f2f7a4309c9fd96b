"""Reading the new-referral form: its order lines (`lines-<n>-<field>`), the coverage choice and the upload."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from radflow.domain.errors import ValidationError
from radflow.domain.values import Npi
from radflow.entrypoints.web.forms import FormFields
from radflow.services.documents import MAX_DOCUMENT_BYTES
from radflow.services.orders import OrderLine

#: Fields of one exam on the form; a service error naming one of these belongs to an order line.
LINE_FIELDS: Final = frozenset({"protocol_code", "protocol", "contrast", "laterality", "priority", "setting",
                                "reason_for_exam", "diagnosis_codes", "clinical_notes"})
_LINE_KEY: Final = re.compile(r"^lines-(\d{1,2})-")


def line_indices(fields: FormFields, most: int) -> list[int]:
    """The exam lines present on the posted form, in order (at least line 0)."""
    found = {int(match.group(1)) for key in fields.form if (match := _LINE_KEY.match(key))}
    return sorted(i for i in found | {0} if i < most)


def copy_to(fields: FormFields) -> tuple[tuple[str, str], ...]:
    """The provider who gets a copy of the report (NPI and name), checked here so the error names this field."""
    npi = fields.text("copy_to_npi")
    if not npi:
        return ()
    try:
        checked = Npi.parse(npi).value
    except ValidationError as wrong:
        raise ValidationError(f"copy-to provider: {wrong.message}", field="copy_to_npi") from None
    return ((checked, fields.text("copy_to_name")),)


def order_lines(fields: FormFields, indices: list[int], *, coverage_id: str | None,
                self_pay: bool) -> tuple[OrderLine, ...]:
    """One OrderLine per exam with a protocol chosen; ordering and copied providers are the referral's."""
    copies = copy_to(fields)
    lines = []
    for i in indices:
        def value(name: str, index: int = i) -> str:
            return fields.text(f"lines-{index}-{name}")

        if not value("protocol_code"):
            continue
        lines.append(OrderLine(
            protocol_code=value("protocol_code"), contrast=value("contrast") or None,
            laterality=value("laterality") or None, reason_for_exam=value("reason_for_exam"),
            diagnosis_codes=fields.codes(f"lines-{i}-diagnosis_codes"), clinical_notes=value("clinical_notes"),
            ordering_provider_npi=fields.text("ordering_provider_npi"),
            ordering_provider_name=fields.text("ordering_provider_name"), copy_to=copies,
            priority=value("priority") or "routine",
            setting=value("setting") or "outpatient", coverage_id=coverage_id, self_pay=self_pay,
        ))
    if not lines:
        raise ValidationError("choose the exam requested (at least one)", field="protocol_code")
    return tuple(lines)


@dataclass(frozen=True)
class CoverageChoice:
    """How the exam is paid for: a recorded coverage, a new one with a payer, self-pay, or not known yet."""

    coverage_id: str | None = None
    new_payer_id: str | None = None
    self_pay: bool = False


def coverage_choice(fields: FormFields) -> CoverageChoice:
    """Read the coverage radio buttons; 'not known yet' leaves it to the completeness check to ask for."""
    choice = fields.text("coverage_choice")
    if choice == "self_pay":
        return CoverageChoice(self_pay=True)
    if choice == "new":
        payer = fields.text("payer_id")
        if not payer:
            raise ValidationError("choose the payer of the new coverage", field="payer_id")
        return CoverageChoice(new_payer_id=payer)
    return CoverageChoice(coverage_id=choice or None)


def referral_upload(fields: FormFields) -> tuple[str, str, bytes] | None:
    """The faxed referral attached to the form (name, type, bytes), checked before anything is written."""
    upload = fields.upload("referral_file")
    if upload is None:
        return None
    content = upload.file.read()
    if not content:
        raise ValidationError(f"the file '{upload.filename}' is empty", field="referral_file")
    if len(content) > MAX_DOCUMENT_BYTES:
        raise ValidationError(f"the file is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MB",
                              field="referral_file")
    return upload.filename or "referral", upload.content_type or "application/octet-stream", content
