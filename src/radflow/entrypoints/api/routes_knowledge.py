"""The rule engines callable on their own: safety screening, RADS assessment, follow-up extraction.

A safety officer checks a rule change against a set of cases; a report author checks a category.
They read no patient record and write none (no audit record is due), but they need a sign-in.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from radflow.domain.policy import Action
from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import requires

router = APIRouter(tags=["rule engines"])


@router.post("/screening/evaluate")
def screening_evaluate(case: Annotated[dict[str, Any], Body()],
                       actor: Annotated[Principal, requires(Action.CATALOG_READ)]) -> dict[str, Any]:
    """Evaluate one screening case (docs/screening-case.schema.json): decision, actions, fired rules."""
    from radflow.catalog.screening_loader import evaluate_case_json

    return evaluate_case_json(case)


@router.post("/rads/assess")
def rads_assess(finding: Annotated[dict[str, Any], Body()],
                actor: Annotated[Principal, requires(Action.CATALOG_READ)]) -> dict[str, Any]:
    """Assess a structured finding (docs/rads-finding.schema.json): category, management, interval, rule."""
    from radflow.catalog.rads import assess_json

    return assess_json(finding)


@router.post("/followup/extract")
def followup_extract(request: Annotated[dict[str, Any], Body()],
                     actor: Annotated[Principal, requires(Action.CATALOG_READ)]) -> dict[str, Any]:
    """Extract follow-up recommendations and critical findings from report text (with their flags)."""
    from radflow.adapters.nlp import extract_json

    return extract_json(request)
