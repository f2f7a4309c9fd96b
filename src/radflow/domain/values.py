"""Value objects that validate themselves: ICD-10-CM codes, NPIs, accession numbers, identifiers."""

from __future__ import annotations

import re
from dataclasses import dataclass

from radflow.domain.errors import ValidationError

# ICD-10-CM code shape (CMS ICD-10-CM Official Guidelines, Section I.A): a letter, a digit, a
# letter or digit (C7A, M1A), then an optional dot with up to four more characters; the placeholder
# "X" (Section I.A.5) only ever stands before a further character, so "T38.3X" or "R51.X" is incomplete.
_ICD10_RE = re.compile(r"^[A-Z][0-9][0-9A-Z](?:\.([0-9A-Z]{1,4}))?$")


@dataclass(frozen=True, slots=True)
class Icd10Code:
    """A well-formed ICD-10-CM diagnosis code, normalised to upper case with its dot."""

    value: str

    @classmethod
    def parse(cls, raw: str) -> Icd10Code:
        """Parse `raw` ("m54.16", "M5416", " M54.16 ") or raise ValidationError naming the problem."""
        text = raw.strip().upper()
        if "." not in text and len(text) > 3:
            text = f"{text[:3]}.{text[3:]}"
        match = _ICD10_RE.match(text)
        if not match:
            raise ValidationError(
                f"ICD-10 code '{raw.strip()}' is not well-formed: expected a letter, two characters "
                "(digit, then digit or letter), then optionally a dot and up to four characters",
                field="diagnosis_codes",
            )
        tail = match.group(1) or ""
        if tail.endswith("X"):
            raise ValidationError(
                f"ICD-10 code '{raw.strip()}' is not well-formed: the placeholder 'X' must be followed "
                "by a further character (e.g. a seventh character)",
                field="diagnosis_codes",
            )
        return cls(text)

    def __str__(self) -> str:
        return self.value


def npi_check_digit(first_nine: str) -> int:
    """Luhn check digit of an NPI's first nine digits, with the 80840 prefix (CMS NPI standard)."""
    digits = [int(c) for c in "80840" + first_nine]
    total = 0
    # Luhn: double every second digit from the right of the payload (the check digit's position is 0).
    for index, digit in enumerate(reversed(digits)):
        if index % 2 == 0:
            doubled = digit * 2
            total += doubled - 9 if doubled > 9 else doubled
        else:
            total += digit
    return (10 - total % 10) % 10


@dataclass(frozen=True, slots=True)
class Npi:
    """A National Provider Identifier: ten digits whose last is a Luhn check digit."""

    value: str

    @classmethod
    def parse(cls, raw: str) -> Npi:
        """Parse `raw` or raise ValidationError saying what is wrong."""
        text = raw.strip()
        if not re.fullmatch(r"[0-9]{10}", text):
            raise ValidationError(f"NPI '{text}' must be exactly ten digits", field="ordering_provider_npi")
        expected = npi_check_digit(text[:9])
        if int(text[9]) != expected:
            raise ValidationError(
                f"NPI '{text}' fails its check digit (expected last digit {expected}); "
                "check the number with the referring office",
                field="ordering_provider_npi",
            )
        return cls(text)

    def __str__(self) -> str:
        return self.value


def is_valid_npi(raw: str) -> bool:
    """True when `raw` is a well-formed NPI with a correct check digit."""
    try:
        Npi.parse(raw)
    except ValidationError:
        return False
    return True


ACCESSION_MAX = 16  # DICOM SH: at most 16 characters (PS3.5 6.2)
_ACCESSION_RE = re.compile(r"^[A-Za-z0-9._-]{1,16}$")


def validate_accession(raw: str) -> str:
    """Return `raw` if it can be a DICOM AccessionNumber (SH, ≤ 16, no backslash), else raise."""
    text = raw.strip()
    if not _ACCESSION_RE.match(text):
        raise ValidationError(
            f"accession number '{text}' must be 1–16 letters, digits, '.', '_' or '-' (DICOM SH)",
            field="accession_number",
        )
    return text


def format_accession(prefix: str, number: int) -> str:
    """Format radflow's own accession number: prefix + zero-padded counter, within 16 characters."""
    text = f"{prefix}{number:08d}"
    if len(text) > ACCESSION_MAX:
        raise ValidationError(f"accession prefix '{prefix}' leaves no room in 16 characters")
    return text


def normalise_phone(raw: str) -> str:
    """Digits of a phone number (a leading + kept), for matching duplicates and sending texts."""
    text = raw.strip()
    digits = re.sub(r"[^0-9]", "", text)
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]  # NANP country code: match 1-555-… and 555-… as the same line
    return digits


def phone_match_key(raw: str) -> str:
    """The last seven digits of a phone number, the part two writings of one line always share ('' if fewer)."""
    digits = normalise_phone(raw)
    return digits[-7:] if len(digits) >= 7 else ""
