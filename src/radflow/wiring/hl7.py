"""The hl7 area's contributions: the message store and mappings, monitor commands, outbound jobs and hooks."""

from __future__ import annotations

from radflow.adapters.db.hl7_repositories import SqlHl7Jobs, SqlHl7Mappings, SqlHl7Messages, map_hl7
from radflow.services.interfaces import mappings, monitor, outbound
from radflow.services.interfaces.memory import MemoryHl7Jobs, MemoryHl7Mappings, MemoryHl7Messages
from radflow.wiring import Area

AREA = Area(
    name="hl7",
    handlers={
        mappings.LoadMapping: mappings.load_mapping_version,
        mappings.ShowMapping: mappings.show_mapping,
        **monitor.HANDLERS,
    },
    job_handlers=outbound.JOB_HANDLERS,
    event_handlers=outbound.EVENT_HANDLERS,
    mappers=(map_hl7,),
    repositories={"hl7_messages": SqlHl7Messages, "hl7_mappings": SqlHl7Mappings, "hl7_jobs": SqlHl7Jobs},
    memory_repositories={"hl7_messages": MemoryHl7Messages, "hl7_mappings": MemoryHl7Mappings,
                         "hl7_jobs": MemoryHl7Jobs},
)
