"""Engines and sessions: SQLite (durable, one writer, WAL) by default, PostgreSQL for several processes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, *, schema: str = "", echo: bool = False, pool_size: int = 10) -> Engine:
    """Create an engine tuned for radflow's workload on SQLite or PostgreSQL."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo=echo)
    connect_args: dict[str, Any] = {}
    if schema:
        # Every connection works in the given schema (tests run each in a schema of their own).
        connect_args["options"] = f"-csearch_path={schema}"
    # No pre-ping: it costs a round trip on every checkout. After a database restart the first
    # statement on a stale connection fails once, and SQLAlchemy then replaces the whole pool.
    return create_engine(url, echo=echo, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800,
                         connect_args=connect_args)


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    path = url.split("///", 1)[1] if "///" in url else ""
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own transaction handling is switched off so that BEGIN IMMEDIATE can be issued.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # durable commits: an ACK means it is on disk
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Take the write lock at the start: every radflow transaction writes (at least its audit
        # record), and upgrading a read lock later is what makes SQLite answer "database is locked".
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit (results are returned to the caller)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
