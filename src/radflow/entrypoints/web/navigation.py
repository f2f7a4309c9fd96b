"""Role-aware navigation: which screens a role sees in the menu, and which one it sees first.

The menu is data. A later area declares its entries as `MENU` in its own routes module (see
`areas.py`; e.g. scheduling's booking queue, the technologist's worklist); where its screen is where
a role starts the day, that role's entry in `HOME` changes here. An item shows only when the policy
lets the role take every action it names, so the menu never offers a screen that would refuse the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from radflow.domain.policy import Action, role_may
from radflow.domain.users import Principal, Role


@dataclass(frozen=True)
class NavItem:
    """One entry of the menu: its label, where it goes and the actions it needs."""

    label: str
    path: str
    actions: tuple[Action, ...]
    lead_technologist_only: bool = False

    def visible_to(self, principal: Principal) -> bool:
        """True when the policy lets this principal's role use the screen."""
        if self.lead_technologist_only and principal.role is Role.TECHNOLOGIST and not principal.is_lead_technologist:
            return False
        return all(role_may(principal.role, action) for action in self.actions)


NAVIGATION: Final[tuple[NavItem, ...]] = (
    NavItem("Intake queue", "/intake", (Action.QUEUE_INTAKE,)),
    NavItem("New referral", "/intake/referrals/new", (Action.ORDER_CREATE, Action.PATIENT_SEARCH)),
    # Protocoling is a radiologist's (or a lead technologist's) task (DESIGN §1, awaiting_protocol).
    NavItem("Protocoling", "/protocoling", (Action.QUEUE_PROTOCOL,), lead_technologist_only=True),
    NavItem("Authorization", "/authorization", (Action.QUEUE_AUTHORIZATION,)),
    NavItem("Pipeline board", "/board", (Action.PIPELINE_BOARD,)),
    NavItem("Orders", "/orders", (Action.ORDER_READ,)),
    NavItem("Patients", "/patients", (Action.PATIENT_SEARCH,)),
    NavItem("Interfaces", "/hl7", (Action.HL7_MONITOR,)),
)

#: The screen each role starts on after signing in.
HOME: Final[dict[Role, str]] = {
    Role.INTAKE: "/intake",
    Role.AUTHORIZATION: "/authorization",
    Role.RADIOLOGIST: "/reading",  # the reading worklist (web/reporting); protocoling from the menu
    Role.MANAGER: "/board",
    Role.ADMIN: "/board",
    Role.SCHEDULER: "/scheduling",  # the booking queue (web/scheduling)
    Role.FRONT_DESK: "/exam-day/arrivals",  # today's arrivals (web/exam_day)
    Role.TECHNOLOGIST: "/exam-day/worklist",  # the room's worklist (web/exam_day)
    Role.REFERRING_PROVIDER: "/results/inbox",  # reports to read (web/results)
    Role.PATIENT: "/portal",  # released reports (web/results)
    Role.INTEGRATION: "/orders",
}


def menu_for(principal: Principal, area_items: tuple[NavItem, ...] = ()) -> list[NavItem]:
    """The menu entries this principal may use: the foundation's, then those later areas declare."""
    return [item for item in (*NAVIGATION, *area_items) if item.visible_to(principal)]


def home_for(principal: Principal) -> str:
    """Where this principal lands after signing in (a lead technologist protocols first)."""
    if principal.role is Role.TECHNOLOGIST and principal.is_lead_technologist:
        return "/protocoling"
    return HOME.get(principal.role, "/orders")


def safe_next(target: str | None) -> str | None:
    """A post-login destination only if it stays on this site ('/…', never '//host' or 'http:…')."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target
