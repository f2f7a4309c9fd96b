"""Migrations that derive data fill it in for the rows already there."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from radflow.adapters.db.engine import make_engine
from radflow.adapters.db.migrate import upgrade


def test_phone_match_keys_are_filled_for_existing_patients(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    upgrade(engine, revision="0001_foundation")
    with engine.begin() as connection:
        for row_id, phone in (("p1", "(555) 201-0001"), ("p2", "1-555-201-0001 "), ("p3", ""), ("p4", "911")):
            connection.execute(text(
                "INSERT INTO patients (id, family_name, given_name, middle_name, birth_date, sex, created_at, phone,"
                " email, address_line, city, state, postal_code, preferred_language, probable_duplicate_ids,"
                " is_temporary) VALUES (:id, 'Okafor', 'Maria', '', '1968-04-12', 'F', '2026-01-01 00:00:00',"
                " :phone, '', '', '', '', '', 'en', '[]', 0)"), {"id": row_id, "phone": phone})
    upgrade(engine)
    with engine.connect() as connection:
        keys = dict(connection.execute(text("SELECT id, phone_key FROM patients")).all())
    engine.dispose()
    assert keys == {"p1": "2010001", "p2": "2010001", "p3": "", "p4": ""}
