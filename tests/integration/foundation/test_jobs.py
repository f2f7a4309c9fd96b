"""Durable jobs: claimed under a lease, run once, retried with backoff, reclaimed after a dead worker."""

from __future__ import annotations

from datetime import timedelta

import pytest
from seed import seed_world

from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.domain.jobs import JobState
from radflow.entrypoints.worker import work_once
from radflow.services.job_runner import JobOutcome, run_claimed_job
from radflow.services.jobs import enqueue
from radflow.services.orders import OrderLine, ReceiveReferral
from radflow.services.patients import RegisterPatient
from radflow.services.ports import RecordingGateway
from radflow_test_support import backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)
LEASE = timedelta(seconds=120)


def incomplete_referral(radflow: Radflow) -> str:
    from datetime import date

    from radflow.domain.users import Principal, Role

    intake = Principal.system("t", role=Role.INTAKE)
    pid = radflow.bus.handle(RegisterPatient(actor=intake, family_name="Doe", given_name="Jo",
                                             birth_date=date(1970, 1, 1), sex="F")).patient_id
    result = radflow.bus.handle(ReceiveReferral(actor=intake, patient_id=pid, channel="fax", reply_fax="555-300-4000",
                                                lines=(OrderLine(protocol_code="CT-HEAD", contrast="without"),)))
    return str(result.order_ids[0])


def jobs_of(radflow: Radflow, kind: str) -> list[tuple[str, JobState, int]]:
    from sqlalchemy import select

    from radflow.adapters.db import tables as t
    with radflow.session_factory() as session:
        rows = session.execute(select(t.jobs.c.key, t.jobs.c.state, t.jobs.c.attempts).where(t.jobs.c.kind == kind))
        return [(k, s, a) for k, s, a in rows]


def test_documentation_request_is_sent_once_by_the_worker(radflow: Radflow, gateway: RecordingGateway) -> None:
    order_id = incomplete_referral(radflow)
    assert jobs_of(radflow, "documentation_request")[0][1] is JobState.PENDING
    assert work_once(radflow, "w1") == 1
    assert work_once(radflow, "w1") == 0
    assert len(gateway.sent) == 1
    message = gateway.sent[0]
    assert message.channel == "fax" and message.to == "555-300-4000" and message.order_id == order_id
    assert "ICD-10-CM" in message.body
    assert jobs_of(radflow, "documentation_request")[0][1:] == (JobState.DONE, 1)


def test_a_failing_gateway_is_retried_with_backoff_keeping_the_key(radflow: Radflow, gateway: RecordingGateway,
                                                                    clock: FakeClock) -> None:
    incomplete_referral(radflow)
    gateway.fail_next = 2
    work_once(radflow, "w1")
    assert jobs_of(radflow, "documentation_request")[0][1:] == (JobState.PENDING, 1)
    assert work_once(radflow, "w1") == 0  # not due yet: backoff
    clock.advance(seconds=16)
    work_once(radflow, "w1")
    clock.advance(seconds=31)
    work_once(radflow, "w1")
    key, state, attempts = jobs_of(radflow, "documentation_request")[0]
    assert (state, attempts) == (JobState.DONE, 3)
    assert [m.key for m in gateway.sent] == [key]


def test_a_job_left_by_a_dead_worker_is_reclaimed_after_its_lease(radflow: Radflow, gateway: RecordingGateway,
                                                                  clock: FakeClock) -> None:
    incomplete_referral(radflow)
    (job_id,) = radflow.job_queue.claim("dead-worker", clock.now(), LEASE)
    assert radflow.job_queue.claim("w2", clock.now(), LEASE) == []  # held by the lease
    clock.advance(LEASE + timedelta(seconds=1))
    assert radflow.job_queue.claim("w2", clock.now(), LEASE) == [job_id]
    # the dead worker wakes up: its lease is gone, it does nothing
    assert run_claimed_job(job_id, "dead-worker", radflow.bus.uow_factory, radflow.ctx, radflow.jobs) \
        is JobOutcome.LOST
    assert run_claimed_job(job_id, "w2", radflow.bus.uow_factory, radflow.ctx, radflow.jobs) is JobOutcome.DONE
    assert len(gateway.sent) == 1


def test_jobs_of_one_queue_run_in_order_and_the_same_key_is_enqueued_once(radflow: Radflow,
                                                                          clock: FakeClock) -> None:
    seed_world(radflow)
    with radflow.uow() as uow:
        for n in range(3):
            assert enqueue(uow, radflow.ctx, "noop", f"k{n}", {"n": n}, queue="dest-A")
        assert not enqueue(uow, radflow.ctx, "noop", "k0", {"n": 99}, queue="dest-A")
        uow.commit()
    first = radflow.job_queue.claim("w1", clock.now(), LEASE)
    assert len(first) == 1  # the next one of dest-A waits for the first to finish
    assert radflow.job_queue.claim("w2", clock.now(), LEASE) == []
    radflow.jobs["noop"] = lambda job, uow, ctx: {"n": job.payload["n"]}
    run_claimed_job(first[0], "w1", radflow.bus.uow_factory, radflow.ctx, radflow.jobs)
    second = radflow.job_queue.claim("w2", clock.now(), LEASE)
    assert len(second) == 1 and second != first



def test_a_partner_down_is_one_log_line_and_a_defect_keeps_its_traceback(
        radflow: Radflow, gateway: RecordingGateway, clock: FakeClock, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    incomplete_referral(radflow)
    gateway.fail_next = 1  # ConnectionError: the fax gateway is down
    with caplog.at_level("WARNING", logger="radflow.jobs"):
        work_once(radflow, "w1")
    (down,) = caplog.records
    assert "documentation_request" in down.getMessage() and "gateway unavailable" in down.getMessage()
    assert not down.exc_info
    caplog.clear()

    def broken(*_: object) -> None:
        raise KeyError("a bug")

    monkeypatch.setitem(radflow.jobs, "documentation_request", broken)
    clock.advance(seconds=16)
    with caplog.at_level("WARNING", logger="radflow.jobs"):
        work_once(radflow, "w1")
    (defect,) = caplog.records
    assert defect.exc_info is not None and defect.exc_info[0] is KeyError
