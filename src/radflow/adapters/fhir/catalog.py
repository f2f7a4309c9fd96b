"""The parts of the shipped catalog the FHIR mapping reads (satisfied by `radflow.catalog.loader.Catalog`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol as TypingProtocol

from radflow.domain.payer_rules import Payer
from radflow.domain.protocols import ContrastPhase, Protocol


class ExamCatalog(TypingProtocol):
    """Protocols by code and by CPT code, and payers by id."""

    @property
    def protocols(self) -> Mapping[str, Protocol]:
        """Every protocol by its code."""
        ...

    @property
    def payers(self) -> Mapping[str, Payer]:
        """Every payer by its id."""
        ...

    @property
    def by_cpt(self) -> Mapping[str, tuple[str, ContrastPhase]]:
        """The protocol code and contrast phase an order naming only this primary CPT code means."""
        ...


def billed_cpt(catalog: ExamCatalog, protocol_code: str, contrast: ContrastPhase | None, cpt_code: str) -> str:
    """The CPT code an order shows: the one set at protocoling, else the one its contrast plan implies."""
    if cpt_code:
        return cpt_code
    protocol = catalog.protocols.get(protocol_code)
    if protocol is None:
        return ""
    if contrast is not None:
        return next((v.cpt for v in protocol.variants if v.phase == contrast), "")
    return protocol.variants[0].cpt if len(protocol.variants) == 1 else ""


def orders_billed_as(catalog: ExamCatalog, cpt: str) -> tuple[tuple[str, ContrastPhase | None], ...]:
    """(protocol code, contrast) pairs whose orders show `cpt` before protocoling sets one (see billed_cpt)."""
    pairs: list[tuple[str, ContrastPhase | None]] = []
    for code, protocol in catalog.protocols.items():
        for variant in protocol.variants:
            if variant.cpt == cpt:
                pairs.append((code, variant.phase))
                if len(protocol.variants) == 1:
                    pairs.append((code, None))
    return tuple(pairs)
