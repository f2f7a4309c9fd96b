"""Health and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select, text

from radflow.adapters.db import tables as t
from radflow.entrypoints.api.deps import App, public

router = APIRouter(tags=["operations"])


@router.get("/healthz", dependencies=[public("load balancers and monitors")])
def healthz(radflow: App) -> dict[str, Any]:
    """Liveness and database reachability."""
    with radflow.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    return {"status": "ok", "database": radflow.engine.dialect.name}


@router.get("/metrics", dependencies=[public("Prometheus scraper (no patient data)")])
def metrics(radflow: App) -> Response:
    """Counts a monitor scrapes: orders per state, jobs per state, audit records waiting to be linked."""
    registry = CollectorRegistry()
    orders = Gauge("radflow_orders", "Orders per lifecycle state", ["state"], registry=registry)
    jobs = Gauge("radflow_jobs", "Jobs per state", ["state"], registry=registry)
    unlinked = Gauge("radflow_audit_unlinked", "Audit records not yet linked into the chain", registry=registry)
    with radflow.session_factory() as session:
        for state, count in session.execute(select(t.orders.c.state, func.count()).group_by(t.orders.c.state)):
            orders.labels(state=state.value).set(count)
        for state, count in session.execute(select(t.jobs.c.state, func.count()).group_by(t.jobs.c.state)):
            jobs.labels(state=state.value).set(count)
        unlinked.set(session.execute(select(func.count()).select_from(t.audit_records)
                                     .where(t.audit_records.c.seq.is_(None))).scalar_one())
    for name, value in radflow.extras.get("metrics", {}).items():
        Gauge(f"radflow_{name}", name.replace("_", " "), registry=registry).set(value)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
