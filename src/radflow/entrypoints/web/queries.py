"""What the screens use to reach the wired app, and the staff-name lookup they share."""

from __future__ import annotations

from collections.abc import Sequence

from radflow.domain.users import Principal
from radflow.entrypoints.api.deps import App
from radflow.services.views import FindProbableDuplicates, ListFaxInbox, StaffNames

__all__ = ["FindProbableDuplicates", "ListFaxInbox", "ScreenApp", "names_for"]

#: The wired radflow, for screen routes (the same dependency the API uses).
ScreenApp = App


def names_for(radflow: App, actor: Principal, user_ids: Sequence[str]) -> dict[str, str]:
    """Staff names for ids (empty ids skipped)."""
    names: dict[str, str] = radflow.bus.handle(StaffNames(actor=actor, user_ids=tuple(i for i in user_ids if i)))
    return names
