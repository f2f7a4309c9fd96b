"""Access control: the one place that decides role × action × object.

Every route and every service entry names an `Action`. `PERMISSIONS` says which roles may take
it; `check` adds the object rule: a referring provider sees only orders they placed, are copied on
or cover for; a patient only their own records (and a proxy only what was granted). Staff see
the center's records (minimum necessary is enforced by which actions their role has).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from radflow.domain.errors import Forbidden
from radflow.domain.users import Principal, Role


class Action(StrEnum):
    """Things a user can do; each names the object it touches."""

    PATIENT_READ = "patient.read"
    PATIENT_SEARCH = "patient.search"
    PATIENT_WRITE = "patient.write"
    PATIENT_MERGE = "patient.merge"
    ORDER_READ = "order.read"
    ORDER_CREATE = "order.create"
    ORDER_UPDATE = "order.update"
    ORDER_CANCEL = "order.cancel"
    ORDER_PROTOCOL = "order.protocol"
    QUEUE_INTAKE = "queue.intake"
    QUEUE_PROTOCOL = "queue.protocol"
    QUEUE_AUTHORIZATION = "queue.authorization"
    PIPELINE_BOARD = "pipeline.board"
    DOCUMENT_READ = "document.read"
    DOCUMENT_UPLOAD = "document.upload"
    COVERAGE_READ = "coverage.read"
    COVERAGE_WRITE = "coverage.write"
    AUTHORIZATION_READ = "authorization.read"
    AUTHORIZATION_MANAGE = "authorization.manage"
    CATALOG_READ = "catalog.read"
    CLINICAL_RULES_MANAGE = "clinical_rules.manage"
    AUDIT_READ = "audit.read"
    USER_MANAGE = "user.manage"
    JOB_READ = "job.read"
    PROFILE_READ = "profile.read"
    SCHEDULE_SEARCH = "schedule.search"
    APPOINTMENT_READ = "appointment.read"
    APPOINTMENT_BOOK = "appointment.book"
    APPOINTMENT_OVERBOOK = "appointment.overbook"
    CAPACITY_READ = "capacity.read"
    CAPACITY_MANAGE = "capacity.manage"
    BACKLOG_PLAN = "backlog.plan"
    READING_WORKLIST = "reading.worklist"
    REPORT_READ = "report.read"
    REPORT_WRITE = "report.write"
    CRITICAL_RESULT_READ = "critical_result.read"
    CRITICAL_RESULT_RAISE = "critical_result.raise"
    CRITICAL_RESULT_ACKNOWLEDGE = "critical_result.acknowledge"
    HL7_MONITOR = "hl7.monitor"  # the interface monitor: message log, outbound queue, mapping shown
    HL7_MANAGE = "hl7.manage"  # reprocess or dismiss a message, resend an outbound message
    HL7_MAPPING_MANAGE = "hl7.mapping.manage"  # load a new sender mapping
    CONTACT_READ = "contact.read"  # a patient's channels, consent and opt-outs
    CONTACT_WRITE = "contact.write"  # change them; revoke consent (a STOP call to the desk)
    MESSAGES_READ = "messages.read"  # the messages sent to a patient and their delivery status
    MESSAGING_INBOUND = "messaging.inbound"  # the messaging gateway's webhooks: replies, delivery reports
    PREPARATION_CONFIRM = "preparation.confirm"  # record that a patient confirmed, or got their preparation
    NO_SHOW_MARK = "noshow.mark"  # mark a missed appointment; return the order to scheduling
    REMINDER_BOARD = "reminders.board"  # reminders due, held and failed; the rescheduling queue
    NO_SHOW_MODEL_MANAGE = "noshow.model"  # refit the no-show risk model on the center's history
    # The day of the exam (issue 5)
    ARRIVALS_READ = "arrivals.read"  # today's arrivals per site and room
    CHECKIN = "checkin"  # identity, coverage, exam comparison, consent, payment note; check in
    CHECKIN_RESOLVE_MISMATCH = "checkin.resolve_mismatch"  # let a differing scheduled exam stand, with why
    SCREENING_READ = "screening.read"  # a patient's screening answers and decisions
    SCREENING_ANSWER = "screening.answer"  # give answers (the patient online or at the desk)
    SCREENING_VERIFY = "screening.verify"  # verify answers on site (Level 2 MR personnel)
    SCREENING_REVIEW = "screening.review"  # the radiologist review queue: clear or contraindicate a hold
    MODALITY_WORKLIST = "worklist.modality"  # a room's worklist, as the scanner sees it
    EXAM_DOCUMENT = "exam.document"  # pre-scan check, interruptions, contrast and dose, manual steps
    EXAM_QC = "exam.qc"  # technologist QC: passed, repeat, not completable
    EXAM_RESCHEDULE = "exam.reschedule"  # an incomplete exam back to scheduling after the re-checks
    WALK_IN = "exam.walk_in"  # an exam without appointment onto today's worklist
    TRAUMA_REGISTER = "patient.trauma"  # a temporary identity for an unidentified patient
    MPPS_RECORD = "mpps.record"  # the DICOM listener reporting what a scanner performed
    MPPS_RECONCILE = "mpps.reconcile"  # the MPPS exception queue: match a step to its order, or dismiss
    STUDY_READ = "study.read"  # what was performed (steps, contrast, dose, QC); ImagingStudy
    STATION_MANAGE = "station.manage"  # rooms' DICOM station AE titles and worklist rules; worklist import
    # Distribution, patient communication and follow-up (issue 7, items 4-6)
    RESULTS_INBOX = "results.inbox"  # a referring provider's inbox of reports; first openings recorded
    DISTRIBUTION_READ = "distribution.read"  # where a report went and what became of each delivery
    DISTRIBUTION_MANAGE = "distribution.manage"  # resend a failed delivery, cancel a notice no longer due
    RELEASE_HOLD = "release.hold"  # hold one patient's report back (their request, a clinician's determination)
    RESULT_RESPONSIBILITY = "results.responsibility"  # who tells the patient about an order's result
    PATIENT_LETTERS = "letters.track"  # MQSA lay letters and result notices against their deadlines
    PORTAL_RESULTS = "portal.results"  # a patient's released reports and their PDF
    FOLLOWUP_READ = "followup.read"  # the follow-up worklist
    FOLLOWUP_MANAGE = "followup.manage"  # close an item with the reason, or reopen it
    OUTCOMES_AUDIT = "outcomes.audit"  # the MQSA medical outcomes audit per radiologist and year
    PATHOLOGY_RECORD = "pathology.record"  # capture a breast biopsy's pathology for the audit
    RECORDS_REQUEST = "records.request"  # ask for copies of reports or an image transfer
    RECORDS_MANAGE = "records.manage"  # work the requests against their 30-day deadline


R = Role
_STAFF: Final = frozenset({R.INTAKE, R.AUTHORIZATION, R.SCHEDULER, R.FRONT_DESK, R.TECHNOLOGIST,
                           R.RADIOLOGIST, R.MANAGER, R.ADMIN})
_EVERYONE: Final = frozenset(Role)

PERMISSIONS: Final[dict[Action, frozenset[Role]]] = {
    Action.PATIENT_READ: _STAFF | {R.REFERRING_PROVIDER, R.PATIENT, R.INTEGRATION},
    Action.PATIENT_SEARCH: _STAFF | {R.INTEGRATION},
    Action.PATIENT_WRITE: frozenset({R.INTAKE, R.SCHEDULER, R.FRONT_DESK, R.ADMIN, R.INTEGRATION}),
    Action.PATIENT_MERGE: frozenset({R.INTAKE, R.ADMIN, R.INTEGRATION}),
    Action.ORDER_READ: _STAFF | {R.REFERRING_PROVIDER, R.PATIENT, R.INTEGRATION},
    Action.ORDER_CREATE: frozenset({R.INTAKE, R.SCHEDULER, R.ADMIN, R.INTEGRATION, R.REFERRING_PROVIDER}),
    Action.ORDER_UPDATE: frozenset({R.INTAKE, R.AUTHORIZATION, R.SCHEDULER, R.ADMIN, R.INTEGRATION}),
    Action.ORDER_CANCEL: frozenset({R.INTAKE, R.SCHEDULER, R.FRONT_DESK, R.ADMIN, R.INTEGRATION}),
    Action.ORDER_PROTOCOL: frozenset({R.RADIOLOGIST, R.TECHNOLOGIST}),  # technologist: lead only
    Action.QUEUE_INTAKE: frozenset({R.INTAKE, R.SCHEDULER, R.MANAGER, R.ADMIN}),
    Action.QUEUE_PROTOCOL: frozenset({R.RADIOLOGIST, R.TECHNOLOGIST, R.MANAGER, R.ADMIN}),
    Action.QUEUE_AUTHORIZATION: frozenset({R.AUTHORIZATION, R.INTAKE, R.MANAGER, R.ADMIN}),
    Action.PIPELINE_BOARD: _STAFF,
    Action.DOCUMENT_READ: _STAFF | {R.REFERRING_PROVIDER, R.INTEGRATION},
    Action.DOCUMENT_UPLOAD: frozenset({R.INTAKE, R.AUTHORIZATION, R.SCHEDULER, R.FRONT_DESK, R.ADMIN,
                                       R.INTEGRATION, R.REFERRING_PROVIDER}),
    Action.COVERAGE_READ: _STAFF | {R.PATIENT, R.INTEGRATION},
    Action.COVERAGE_WRITE: frozenset({R.INTAKE, R.AUTHORIZATION, R.SCHEDULER, R.FRONT_DESK, R.ADMIN,
                                      R.INTEGRATION}),
    Action.AUTHORIZATION_READ: _STAFF | {R.INTEGRATION},
    Action.AUTHORIZATION_MANAGE: frozenset({R.AUTHORIZATION, R.ADMIN}),
    Action.CATALOG_READ: _EVERYONE,
    Action.CLINICAL_RULES_MANAGE: frozenset({R.ADMIN}),
    Action.AUDIT_READ: frozenset({R.ADMIN, R.MANAGER}),
    Action.USER_MANAGE: frozenset({R.ADMIN}),
    Action.JOB_READ: frozenset({R.ADMIN, R.MANAGER}),
    Action.PROFILE_READ: _EVERYONE,
    Action.SCHEDULE_SEARCH: frozenset({R.SCHEDULER, R.FRONT_DESK, R.INTAKE, R.MANAGER, R.ADMIN, R.INTEGRATION}),
    Action.APPOINTMENT_READ: _STAFF | {R.REFERRING_PROVIDER, R.PATIENT, R.INTEGRATION},
    Action.APPOINTMENT_BOOK: frozenset({R.SCHEDULER, R.FRONT_DESK, R.ADMIN, R.INTEGRATION}),
    # Booking on an overbooking lane: only where a manager set a lane policy for the scanner.
    Action.APPOINTMENT_OVERBOOK: frozenset({R.SCHEDULER, R.MANAGER, R.ADMIN}),
    Action.CAPACITY_READ: _STAFF | {R.INTEGRATION},
    Action.CAPACITY_MANAGE: frozenset({R.MANAGER, R.ADMIN}),
    Action.BACKLOG_PLAN: frozenset({R.SCHEDULER, R.MANAGER, R.ADMIN}),
    Action.HL7_MONITOR: frozenset({R.ADMIN, R.MANAGER, R.INTEGRATION}),
    Action.HL7_MANAGE: frozenset({R.ADMIN, R.INTEGRATION}),
    Action.HL7_MAPPING_MANAGE: frozenset({R.ADMIN}),
    # Reading and reporting (issue 7): radiologists report; a referrer reads the reports of their orders,
    # a patient their own signed reports; a critical result is acknowledged by the clinician reached
    # (or documented by the radiologist who reached them).
    Action.READING_WORKLIST: frozenset({R.RADIOLOGIST, R.MANAGER, R.ADMIN}),
    Action.REPORT_READ: _STAFF | {R.REFERRING_PROVIDER, R.PATIENT, R.INTEGRATION},
    Action.REPORT_WRITE: frozenset({R.RADIOLOGIST}),
    Action.CRITICAL_RESULT_READ: frozenset({R.RADIOLOGIST, R.MANAGER, R.ADMIN, R.REFERRING_PROVIDER}),
    Action.CRITICAL_RESULT_RAISE: frozenset({R.RADIOLOGIST}),
    Action.CRITICAL_RESULT_ACKNOWLEDGE: frozenset({R.RADIOLOGIST, R.REFERRING_PROVIDER}),
    # Patient messaging (issue 4): the desk and schedulers keep contact details and consent; a patient
    # changes their own (and revokes consent) on the portal; only the gateway posts replies.
    Action.CONTACT_READ: _STAFF | {R.PATIENT, R.INTEGRATION},
    Action.CONTACT_WRITE: frozenset({R.INTAKE, R.SCHEDULER, R.FRONT_DESK, R.ADMIN, R.INTEGRATION, R.PATIENT}),
    Action.MESSAGES_READ: frozenset({R.INTAKE, R.SCHEDULER, R.FRONT_DESK, R.MANAGER, R.ADMIN, R.PATIENT}),
    Action.MESSAGING_INBOUND: frozenset({R.INTEGRATION}),
    Action.PREPARATION_CONFIRM: frozenset({R.SCHEDULER, R.FRONT_DESK, R.ADMIN, R.INTEGRATION, R.PATIENT}),
    Action.NO_SHOW_MARK: frozenset({R.SCHEDULER, R.FRONT_DESK, R.TECHNOLOGIST, R.ADMIN}),
    Action.REMINDER_BOARD: frozenset({R.SCHEDULER, R.FRONT_DESK, R.MANAGER, R.ADMIN}),
    Action.NO_SHOW_MODEL_MANAGE: frozenset({R.MANAGER, R.ADMIN}),
    # The day of the exam (issue 5): the desk checks in, the patient answers their own screening, the
    # technologist verifies, scans, documents and passes QC; a radiologist decides held screenings.
    Action.ARRIVALS_READ: frozenset({R.FRONT_DESK, R.TECHNOLOGIST, R.SCHEDULER, R.RADIOLOGIST, R.MANAGER, R.ADMIN}),
    Action.CHECKIN: frozenset({R.FRONT_DESK, R.TECHNOLOGIST, R.ADMIN}),
    Action.CHECKIN_RESOLVE_MISMATCH: frozenset({R.TECHNOLOGIST, R.RADIOLOGIST, R.MANAGER, R.ADMIN}),
    Action.SCREENING_READ: _STAFF | {R.PATIENT, R.INTEGRATION},
    Action.SCREENING_ANSWER: frozenset({R.PATIENT, R.FRONT_DESK, R.TECHNOLOGIST, R.ADMIN, R.INTEGRATION}),
    Action.SCREENING_VERIFY: frozenset({R.TECHNOLOGIST}),
    Action.SCREENING_REVIEW: frozenset({R.RADIOLOGIST}),
    Action.MODALITY_WORKLIST: frozenset({R.TECHNOLOGIST, R.FRONT_DESK, R.RADIOLOGIST, R.MANAGER, R.ADMIN}),
    Action.EXAM_DOCUMENT: frozenset({R.TECHNOLOGIST}),
    Action.EXAM_QC: frozenset({R.TECHNOLOGIST}),
    Action.EXAM_RESCHEDULE: frozenset({R.SCHEDULER, R.FRONT_DESK, R.TECHNOLOGIST, R.ADMIN}),
    Action.WALK_IN: frozenset({R.FRONT_DESK, R.TECHNOLOGIST, R.SCHEDULER, R.ADMIN, R.INTEGRATION}),
    Action.TRAUMA_REGISTER: frozenset({R.FRONT_DESK, R.TECHNOLOGIST, R.ADMIN, R.INTEGRATION}),
    Action.MPPS_RECORD: frozenset({R.INTEGRATION}),
    Action.MPPS_RECONCILE: frozenset({R.TECHNOLOGIST, R.MANAGER, R.ADMIN}),
    Action.STUDY_READ: _STAFF | {R.REFERRING_PROVIDER, R.PATIENT, R.INTEGRATION},
    Action.STATION_MANAGE: frozenset({R.MANAGER, R.ADMIN}),
    # Distribution, patient communication and follow-up (issue 7): a referrer's inbox is their own; a
    # patient reads their released reports and may ask to hold one back; a preventing-harm hold is a
    # clinician's (checked in radflow.domain.release); the desk works records requests.
    Action.RESULTS_INBOX: frozenset({R.REFERRING_PROVIDER}),
    Action.DISTRIBUTION_READ: _STAFF | {R.REFERRING_PROVIDER, R.INTEGRATION},
    Action.DISTRIBUTION_MANAGE: frozenset({R.MANAGER, R.ADMIN}),
    Action.RELEASE_HOLD: frozenset({R.PATIENT, R.RADIOLOGIST, R.REFERRING_PROVIDER, R.FRONT_DESK, R.MANAGER,
                                    R.ADMIN}),
    Action.RESULT_RESPONSIBILITY: frozenset({R.RADIOLOGIST, R.REFERRING_PROVIDER, R.INTAKE, R.MANAGER, R.ADMIN}),
    Action.PATIENT_LETTERS: frozenset({R.FRONT_DESK, R.RADIOLOGIST, R.MANAGER, R.ADMIN}),
    Action.PORTAL_RESULTS: frozenset({R.PATIENT}),
    Action.FOLLOWUP_READ: _STAFF | {R.REFERRING_PROVIDER},
    Action.FOLLOWUP_MANAGE: frozenset({R.SCHEDULER, R.RADIOLOGIST, R.REFERRING_PROVIDER, R.MANAGER, R.ADMIN}),
    Action.OUTCOMES_AUDIT: frozenset({R.RADIOLOGIST, R.MANAGER, R.ADMIN}),
    Action.PATHOLOGY_RECORD: frozenset({R.RADIOLOGIST, R.MANAGER, R.ADMIN, R.INTEGRATION}),
    Action.RECORDS_REQUEST: frozenset({R.PATIENT, R.FRONT_DESK, R.INTAKE, R.ADMIN}),
    Action.RECORDS_MANAGE: frozenset({R.FRONT_DESK, R.MANAGER, R.ADMIN}),
}


@dataclass(frozen=True)
class AccessTarget:
    """What the policy needs to know about the object of an action (no ORM object, no I/O)."""

    patient_id: str | None = None
    ordering_npis: frozenset[str] = frozenset()  # ordering provider and copy-to providers
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def for_order(cls, patient_id: str, ordering_npi: str, copy_to_npis: Iterable[str]) -> AccessTarget:
        """Target for an order (or anything that belongs to one)."""
        npis = {n for n in (ordering_npi, *copy_to_npis) if n}
        return cls(patient_id=patient_id, ordering_npis=frozenset(npis))


def role_may(role: Role, action: Action) -> bool:
    """True when `role` may take `action` on some object."""
    return role in PERMISSIONS.get(action, frozenset())


def may_access(user: Principal, target: AccessTarget) -> bool:
    """The object rule: does this user have a relationship with this object?"""
    if user.role is Role.PATIENT:
        allowed = set(user.proxy_patient_ids)
        if user.patient_id:
            allowed.add(user.patient_id)
        return target.patient_id is not None and target.patient_id in allowed
    if user.role is Role.REFERRING_PROVIDER:
        mine = {n for n in (user.npi, *user.covers_npis) if n}
        return bool(mine & target.ordering_npis)
    return True


def check(user: Principal, action: Action, target: AccessTarget | None = None) -> None:
    """Raise Forbidden unless `user` may take `action` (on `target`, when there is one)."""
    if not user.active:
        raise Forbidden(f"user '{user.username}' is disabled")
    if not role_may(user.role, action):
        raise Forbidden(f"role '{user.role.value}' may not {action.value}")
    if action is Action.ORDER_PROTOCOL and user.role is Role.TECHNOLOGIST and not user.is_lead_technologist:
        raise Forbidden("only a radiologist or a lead technologist may protocol an exam")
    if target is not None and not may_access(user, target):
        raise Forbidden(f"user '{user.username}' has no access to this record")


def sees_everything(user: Principal) -> bool:
    """True when list queries need no per-object filter for this user."""
    return user.role not in (Role.PATIENT, Role.REFERRING_PROVIDER)
