"""The day of the exam (issue 5): check-in, the worklist projection, MPPS, the technologist's documentation and QC.

Modules: `ports` (repositories), `rules` (consents, pre-scan checklist, reasons, formulary as data),
`worklist` (the modality worklist projection and each order's study), `checkin`, `performed_steps`
(MPPS and its exception queue), `exam` (pre-scan, manual steps, interruptions, contrast, dose, QC,
return to scheduling), `walk_in` (exams without appointment, unidentified patients), `room` (a room's
day, studies, stations, bulk load). Safety screening is `radflow.services.screening`.
`HANDLERS` maps each command and query to its handler; `radflow.wiring.exam_day` registers them.
"""

from __future__ import annotations

from radflow.services.bus import Handler
from radflow.services.exam_day import checkin, exam, performed_steps, room, walk_in

HANDLERS: dict[type, Handler] = {
    **checkin.HANDLERS,
    **exam.HANDLERS,
    **performed_steps.HANDLERS,
    **room.HANDLERS,
    **walk_in.HANDLERS,
}
