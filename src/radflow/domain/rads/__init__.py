"""RADS knowledge: BI-RADS, Lung-RADS v2022, ACR TI-RADS, Fleischner 2017 and MQSA wording; pure rules.

The tables are data in `radflow/catalog/rads/` (each rule citing its source), validated by the
parsers here; `radflow.catalog.rads.assess_json` is the entry the CLI and the HTTP route call.
"""

from radflow.domain.rads.assessment import Assessment, FollowUpInterval, RuleRef, months_to_days
from radflow.domain.rads.finding import SYSTEMS, RadsRulebook, assess_finding, assess_finding_json

__all__ = [
    "SYSTEMS",
    "Assessment",
    "FollowUpInterval",
    "RadsRulebook",
    "RuleRef",
    "assess_finding",
    "assess_finding_json",
    "months_to_days",
]
