"""The lifecycle → FHIR status mappings cover every state with a code of the R4 value set."""

from __future__ import annotations

from radflow.adapters.fhir.vocabulary import (
    SERVICE_REQUEST_STATUS,
    STATE_DISPLAY,
    TASK_STATUS,
    states_with_status,
)
from radflow.domain.lifecycle import OrderState, is_terminal

# R4 value sets request-status and task-status (http://hl7.org/fhir/R4/valueset-*.html).
REQUEST_STATUS = {"draft", "active", "on-hold", "revoked", "completed", "entered-in-error", "unknown"}
TASK_STATUSES = {"draft", "requested", "received", "accepted", "rejected", "ready", "cancelled", "in-progress",
                 "on-hold", "failed", "completed", "entered-in-error"}


def test_every_lifecycle_state_has_a_service_request_status_from_the_r4_value_set() -> None:
    assert set(SERVICE_REQUEST_STATUS) == set(OrderState)
    assert set(SERVICE_REQUEST_STATUS.values()) <= REQUEST_STATUS


def test_every_lifecycle_state_has_a_task_status_from_the_r4_value_set() -> None:
    assert set(TASK_STATUS) == set(OrderState)
    assert set(TASK_STATUS.values()) <= TASK_STATUSES


def test_only_a_withdrawn_order_is_revoked_and_only_a_signed_report_completes_it() -> None:
    assert states_with_status(SERVICE_REQUEST_STATUS, "revoked") == (OrderState.CANCELLED,)
    assert set(states_with_status(SERVICE_REQUEST_STATUS, "completed")) == {OrderState.REPORTED, OrderState.DELIVERED}
    assert states_with_status(SERVICE_REQUEST_STATUS, "on-hold") == (OrderState.ON_HOLD,)


def test_the_terminal_state_is_a_terminal_task_status() -> None:
    for state in OrderState:
        if is_terminal(state):
            assert TASK_STATUS[state] in {"cancelled", "completed", "failed", "rejected", "entered-in-error"}


def test_each_state_has_a_readable_display() -> None:
    assert STATE_DISPLAY[OrderState.AWAITING_QC] == "Awaiting QC"
    assert STATE_DISPLAY[OrderState.READY_TO_SCHEDULE] == "Ready to schedule"
