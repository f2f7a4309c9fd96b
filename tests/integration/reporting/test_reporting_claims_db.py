"""The database decides who reads a study: one claim per study, one report per order, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from reporting_world import new_study
from sqlalchemy.exc import IntegrityError

from radflow.adapters.db.reporting_tables import reading_claims, reports
from radflow.bootstrap import Radflow
from radflow.domain.clock import FakeClock
from radflow.domain.errors import Conflict
from radflow.domain.reading import ReadingClaim
from radflow.services.reading import ClaimStudy
from radflow.services.reports import StartReport
from radflow_test_support import UserFactory, backends

pytestmark = pytest.mark.parametrize("test_settings", backends(), indirect=True)


def race(radflow: Radflow, make_user: UserFactory, order_id: str, count: int) -> tuple[list[str], list[str]]:
    """`count` radiologists click Claim on one study at the same moment; who got it, and the refusals."""
    people = [make_user("radiologist", username=f"racer{i}").principal for i in range(count)]
    start, won, refused = threading.Barrier(count), [], []
    lock = threading.Lock()

    def click(person: object) -> None:
        start.wait()
        try:
            claim = radflow.bus.handle(ClaimStudy(actor=person, order_id=order_id))
            with lock:
                won.append(claim.user_id)
        except Conflict as conflict:
            with lock:
                refused.append(conflict.message)

    threads = [threading.Thread(target=click, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return won, refused


def test_of_radiologists_claiming_one_study_at_once_exactly_one_gets_it(radflow: Radflow,
                                                                        make_user: UserFactory) -> None:
    study = new_study(radflow, "CT-CHEST")
    won, refused = race(radflow, make_user, study.order_id, 6)
    assert len(won) == 1 and len(refused) == 5
    with radflow.session_factory() as session:
        rows = session.execute(reading_claims.select()).all()
    assert [row.user_id for row in rows] == won


def test_of_radiologists_taking_over_an_expired_claim_at_once_exactly_one_gets_it(
        radflow: Radflow, make_user: UserFactory, clock: FakeClock) -> None:
    study = new_study(radflow, "CT-CHEST")
    walked_away = make_user("radiologist").principal
    radflow.bus.handle(ClaimStudy(actor=walked_away, order_id=study.order_id))
    clock.advance(minutes=45)
    won, refused = race(radflow, make_user, study.order_id, 5)
    assert len(won) == 1 and len(refused) == 4
    with pytest.raises(Conflict):
        radflow.bus.handle(StartReport(actor=walked_away, order_id=study.order_id))


def test_the_database_refuses_a_second_claim_row_and_a_second_report(radflow: Radflow, make_user: UserFactory,
                                                                     clock: FakeClock) -> None:
    study = new_study(radflow, "CT-CHEST")
    rad = make_user("radiologist").principal
    radflow.bus.handle(ClaimStudy(actor=rad, order_id=study.order_id))
    radflow.bus.handle(StartReport(actor=rad, order_id=study.order_id))
    now = clock.now()
    with radflow.engine.connect() as connection:
        with pytest.raises(IntegrityError):
            connection.execute(reading_claims.insert().values(
                order_id=study.order_id, user_id="someone", user_name="Someone", claimed_at=now,
                expires_at=now + timedelta(minutes=30)))
        connection.rollback()
        row = connection.execute(reports.select()).first()
        assert row is not None
        with pytest.raises(IntegrityError):
            connection.execute(reports.insert().values({**row._mapping, "id": "f" * 32}))
        connection.rollback()


def test_a_claim_is_held_only_until_it_expires_unless_renewed(radflow: Radflow, make_user: UserFactory,
                                                             clock: FakeClock) -> None:
    study = new_study(radflow, "CT-CHEST")
    first, second = make_user("radiologist").principal, make_user("radiologist").principal
    claim: ReadingClaim = radflow.bus.handle(ClaimStudy(actor=first, order_id=study.order_id))
    assert claim.expires_at == clock.now() + timedelta(minutes=30)
    clock.advance(minutes=29)
    with pytest.raises(Conflict):
        radflow.bus.handle(ClaimStudy(actor=second, order_id=study.order_id))
    clock.advance(minutes=2)
    assert radflow.bus.handle(ClaimStudy(actor=second, order_id=study.order_id)).user_id == second.user_id
