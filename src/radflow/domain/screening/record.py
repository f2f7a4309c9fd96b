"""The screening record of one order: the answers given (by whom, how), every decision, every review.

Answers arrive in submissions shaped like FHIR R4 QuestionnaireResponses: the patient online (a link
from the appointment), the patient at the desk, the technologist verifying on site. The current
answer to an item is the latest given. Each evaluation is kept with who asked for it and the rule
set it ran under; a hold is released only by a radiologist, whose review names the rules it looked
at, so that evaluating the same facts again does not send the case back to the queue while a new
reason to hold does.

The record's state machine is one table (`TRANSITIONS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final

from radflow.domain.aggregate import Aggregate
from radflow.domain.errors import InvalidTransition, ValidationError
from radflow.domain.events import DomainEvent
from radflow.domain.screening.case import AnswerSource, AnswerValue
from radflow.domain.screening.engine import ScreeningDecision
from radflow.domain.screening.rules import Outcome

#: Rules whose firing means "not yet verified on site" rather than a finding (docs/screening.md).
VERIFICATION_RULES: Final = frozenset({"mri.technologist-verification", "screening.incomplete"})


class ScreeningState(StrEnum):
    """Where an order's safety screening stands."""

    OPEN = "open"  # no decision yet (or the exam changed)
    CLEAR = "clear"
    CLEAR_WITH_ACTION = "clear_with_action"
    HELD = "held"  # waiting for a radiologist
    CLEARED_BY_RADIOLOGIST = "cleared_by_radiologist"
    CONTRAINDICATED = "contraindicated"


class ScreeningEvent(StrEnum):
    """What happens to a screening record."""

    EVALUATED_CLEAR = "evaluated_clear"
    EVALUATED_WITH_ACTION = "evaluated_with_action"
    EVALUATED_HOLD = "evaluated_hold"
    EVALUATED_CONTRAINDICATED = "evaluated_contraindicated"
    RADIOLOGIST_CLEARED = "radiologist_cleared"
    RADIOLOGIST_CONTRAINDICATED = "radiologist_contraindicated"
    EXAM_CHANGED = "exam_changed"


SS = ScreeningState
SE = ScreeningEvent
_EVALUATIONS = {SE.EVALUATED_CLEAR: SS.CLEAR, SE.EVALUATED_WITH_ACTION: SS.CLEAR_WITH_ACTION,
                SE.EVALUATED_HOLD: SS.HELD, SE.EVALUATED_CONTRAINDICATED: SS.CONTRAINDICATED}

TRANSITIONS: Final[Mapping[tuple[ScreeningState, ScreeningEvent], ScreeningState]] = {
    # Before any hold, each evaluation decides.
    **{(state, event): target for state in (SS.OPEN, SS.CLEAR, SS.CLEAR_WITH_ACTION)
       for event, target in _EVALUATIONS.items()},
    # A hold is released only by a radiologist; a new evaluation can only make it stricter.
    **{(SS.HELD, event): SS.HELD for event in (SE.EVALUATED_CLEAR, SE.EVALUATED_WITH_ACTION, SE.EVALUATED_HOLD)},
    (SS.HELD, SE.EVALUATED_CONTRAINDICATED): SS.CONTRAINDICATED,
    (SS.HELD, SE.RADIOLOGIST_CLEARED): SS.CLEARED_BY_RADIOLOGIST,
    (SS.HELD, SE.RADIOLOGIST_CONTRAINDICATED): SS.CONTRAINDICATED,
    # After a radiologist cleared it: the same reasons stay cleared (see `decide`), new ones hold again.
    (SS.CLEARED_BY_RADIOLOGIST, SE.EVALUATED_CLEAR): SS.CLEARED_BY_RADIOLOGIST,
    (SS.CLEARED_BY_RADIOLOGIST, SE.EVALUATED_WITH_ACTION): SS.CLEARED_BY_RADIOLOGIST,
    (SS.CLEARED_BY_RADIOLOGIST, SE.EVALUATED_HOLD): SS.HELD,
    (SS.CLEARED_BY_RADIOLOGIST, SE.EVALUATED_CONTRAINDICATED): SS.CONTRAINDICATED,
    # Contraindicated, then corrected answers: still a radiologist's call.
    **{(SS.CONTRAINDICATED, event): SS.HELD for event in (SE.EVALUATED_CLEAR, SE.EVALUATED_WITH_ACTION,
                                                          SE.EVALUATED_HOLD)},
    (SS.CONTRAINDICATED, SE.EVALUATED_CONTRAINDICATED): SS.CONTRAINDICATED,
    # A different exam (study substituted, contrast changed) is screened afresh.
    **{(state, SE.EXAM_CHANGED): SS.OPEN for state in ScreeningState},
}

#: States in which the exam may go ahead (the decision's actions still apply).
CLEARED_STATES: Final = frozenset({SS.CLEAR, SS.CLEAR_WITH_ACTION, SS.CLEARED_BY_RADIOLOGIST})


def next_screening_state(state: ScreeningState, event: ScreeningEvent) -> ScreeningState:
    """The state `event` leads to, or InvalidTransition."""
    target = TRANSITIONS.get((state, event))
    if target is None:
        raise InvalidTransition(state.value, event.value, aggregate="screening")
    return target


def answer_to_json(value: AnswerValue) -> Any:
    """An answer value as JSON (dates ISO 8601, repeated decimals as a list)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


@dataclass(frozen=True, kw_only=True)
class ScreeningDecided(DomainEvent):
    """A screening decision was recorded for an order."""

    order_id: str
    patient_id: str
    outcome: str
    state: str


@dataclass(eq=False)
class ScreeningRecord(Aggregate):
    """Answers, decisions and radiologist reviews for one order's exam."""

    id: str
    order_id: str
    patient_id: str
    state: ScreeningState
    created_at: datetime
    appointment_id: str = ""
    submissions: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    reviews: list[dict[str, Any]] = field(default_factory=list)
    reviewed_rules: list[str] = field(default_factory=list)
    version: int = 1
    log: list[dict[str, Any]] = field(default_factory=list)

    def _apply(self, event: ScreeningEvent, *, by: str, at: datetime, note: str = "") -> None:
        target = next_screening_state(self.state, event)
        self.log = [*self.log, {"at": at.isoformat(), "by": by, "event": event.value, "from": self.state.value,
                                "to": target.value, "note": note}]
        self.state = target

    def submit(self, answers: Mapping[str, AnswerValue], source: AnswerSource, *, by: str, at: datetime,
               questionnaires: tuple[str, ...]) -> dict[str, Any]:
        """Keep one submission of answers (a QuestionnaireResponse) and return it."""
        if not answers:
            raise ValidationError("no answers given", field="answers")
        submission = {
            "id": len(self.submissions) + 1, "authored": at.isoformat(), "source": source.value, "author": by,
            "status": "completed", "questionnaires": list(questionnaires),
            "item": [{"linkId": link_id, "value": answer_to_json(value)} for link_id, value in answers.items()],
        }
        self.submissions = [*self.submissions, submission]
        return submission

    def current_answers(self) -> dict[str, dict[str, Any]]:
        """Link id → {value, source, authored}: the latest answer to each item."""
        current: dict[str, dict[str, Any]] = {}
        for submission in self.submissions:
            for item in submission["item"]:
                current[item["linkId"]] = {"value": item["value"], "source": submission["source"],
                                           "authored": submission["authored"]}
        return current

    def decide(self, decision: ScreeningDecision, decision_json: dict[str, Any], *, by: str, at: datetime,
               trigger: str) -> ScreeningState:
        """Record an evaluation and move the state as the table says; returns the new state."""
        event = {Outcome.CLEAR: SE.EVALUATED_CLEAR, Outcome.CLEAR_WITH_ACTION: SE.EVALUATED_WITH_ACTION,
                 Outcome.HOLD_FOR_RADIOLOGIST_REVIEW: SE.EVALUATED_HOLD,
                 Outcome.CONTRAINDICATED: SE.EVALUATED_CONTRAINDICATED}[decision.outcome]
        holding = {r.rule_id for r in decision.fired if r.outcome is Outcome.HOLD_FOR_RADIOLOGIST_REVIEW}
        if (event is SE.EVALUATED_HOLD and self.state is SS.CLEARED_BY_RADIOLOGIST
                and holding <= set(self.reviewed_rules)):
            # The radiologist already weighed exactly these reasons: the clearance stands.
            event = SE.EVALUATED_WITH_ACTION
        self._apply(event, by=by, at=at, note=decision.outcome.value)
        self.decisions = [*self.decisions, {**decision_json, "by": by, "at": at.isoformat(), "trigger": trigger,
                                            "state": self.state.value}]
        self.record(ScreeningDecided(at=at, by=by, order_id=self.order_id, patient_id=self.patient_id,
                                     outcome=decision.outcome.value, state=self.state.value))
        return self.state

    def review(self, *, clear: bool, note: str, by: str, at: datetime, alternative: str = "") -> None:
        """A radiologist's decision on a held case: go ahead (with any conditions in the note), or not."""
        if not note.strip():
            raise ValidationError("a review says why (and any conditions for going ahead)", field="note")
        if not clear and not alternative.strip():
            raise ValidationError("name the alternative to consider when the exam should not go ahead",
                                  field="alternative")
        self._apply(SE.RADIOLOGIST_CLEARED if clear else SE.RADIOLOGIST_CONTRAINDICATED, by=by, at=at, note=note)
        latest = self.latest_decision or {}
        reviewed = [r["id"] for r in latest.get("fired_rules", [])]
        self.reviewed_rules = sorted(set(self.reviewed_rules) | set(reviewed))
        self.reviews = [*self.reviews, {"clear": clear, "note": note.strip(), "alternative": alternative.strip(),
                                        "by": by, "at": at.isoformat(), "rules": reviewed}]

    def exam_changed(self, *, by: str, at: datetime, note: str) -> None:
        """The exam itself changed: earlier decisions and reviews no longer apply."""
        self._apply(SE.EXAM_CHANGED, by=by, at=at, note=note)
        self.reviewed_rules = []

    @property
    def latest_decision(self) -> dict[str, Any] | None:
        """The newest decision, as recorded."""
        return self.decisions[-1] if self.decisions else None

    @property
    def is_cleared(self) -> bool:
        """The exam may go ahead as far as screening goes."""
        return self.state in CLEARED_STATES

    @property
    def awaits_verification(self) -> list[str]:
        """Rules of the latest decision that ask for on-site verification or missing answers."""
        latest = self.latest_decision or {}
        return [r["id"] for r in latest.get("fired_rules", []) if r["id"] in VERIFICATION_RULES]
