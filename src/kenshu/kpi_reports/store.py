"""The attendance store: companies, trainees, courses, sessions, attendance and KPI events.

One SQLAlchemy schema, in a SQLite file by default; any SQLAlchemy URL works
(``postgresql+psycopg://…`` with its driver installed). Every row that an
import creates keeps its source, the file and the row number it came from, so
any number in a report can be traced back to a line of an office's sheet.

Natural keys make imports safe to repeat: an attendance record is unique per
(session, trainee), a session per (course, date), a submission per (course,
trainee, assignment), and a file already imported is recognised by the
SHA-256 of its content.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from pathlib import Path

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from kenshu.errors import KenshuError
from kenshu.paths import project_root

logger = logging.getLogger(__name__)

DB_ENVIRONMENT_VARIABLE = "KENSHU_KPI_DB"


class Base(DeclarativeBase):
    """Declarative base of the attendance store."""


class SourceMixin:
    """Source of a row: a file (or a gradebook URL, or ``course.yml``) and a row number in it."""

    source_file: Mapped[str] = mapped_column(String(1000), default="")
    source_row: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Company(SourceMixin, Base):
    """A company (企業); ``key`` is the normalised name that spellings share."""

    __tablename__ = "companies"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    name: Mapped[str] = mapped_column(String(300))


class Trainee(SourceMixin, Base):
    """A trainee (受講者).

    ``key`` is the roster id (the nbgrader student id) when one is known, and
    ``name:<name key>@<company key>`` for a person known only by name.
    """

    __tablename__ = "trainees"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(400), unique=True)
    trainee_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    name_key: Mapped[str] = mapped_column(String(300), default="", index=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), nullable=True)

    company: Mapped[Company | None] = relationship()


class Course(SourceMixin, Base):
    """A course, identified by its course id (``sakura-press-2026``)."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[str] = mapped_column(String(200), unique=True)
    company_id: Mapped[int | None] = mapped_column(ForeignKey("companies.id"), nullable=True)

    company: Mapped[Company | None] = relationship()
    sessions: Mapped[list[TrainingSession]] = relationship(back_populates="course", order_by="TrainingSession.date")


class TrainingSession(SourceMixin, Base):
    """One training day of a course."""

    __tablename__ = "sessions"
    __table_args__ = (UniqueConstraint("course_id", "date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    date: Mapped[dt.date] = mapped_column(Date)

    course: Mapped[Course] = relationship(back_populates="sessions")


class Attendance(SourceMixin, Base):
    """One trainee at one session: the status and the mark as written."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("session_id", "trainee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"))
    status: Mapped[str] = mapped_column(String(20))
    mark: Mapped[str] = mapped_column(String(50), default="")

    session: Mapped[TrainingSession] = relationship()
    trainee: Mapped[Trainee] = relationship()


class Submission(SourceMixin, Base):
    """An nbgrader submission: evidence that the trainee worked on the course around its timestamp."""

    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("course_id", "trainee_id", "assignment"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"))
    assignment: Mapped[str] = mapped_column(String(200))
    timestamp: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    course: Mapped[Course] = relationship()
    trainee: Mapped[Trainee] = relationship()


class HubActivity(SourceMixin, Base):
    """A user's last activity on JupyterHub as one poll of the hub's REST API returned it."""

    __tablename__ = "hub_activity"
    __table_args__ = (UniqueConstraint("course_id", "trainee_id", "timestamp"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainees.id"))
    # Naive UTC, as nbgrader stores its timestamps.
    timestamp: Mapped[dt.datetime] = mapped_column(DateTime)


class ImportedFile(Base):
    """A file already imported, recognised by the SHA-256 of its bytes whatever its name."""

    __tablename__ = "imported_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(1000))
    kind: Mapped[str] = mapped_column(String(50))
    imported_at: Mapped[dt.datetime] = mapped_column(DateTime)
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_added: Mapped[int] = mapped_column(Integer, default=0)
    rows_present: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)


class CompanyEvent(SourceMixin, Base):
    """A company event that a KPI counts: AI/IoT introduced (``introduced``) or an AI system developed (``developed``)."""

    __tablename__ = "company_events"
    __table_args__ = (UniqueConstraint("company_id", "kind", "date", "course_key", "evidence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id"))
    kind: Mapped[str] = mapped_column(String(20))
    date: Mapped[dt.date] = mapped_column(Date)
    # The course id as entered (empty when none), kept as text so that the unique key has no NULL.
    course_key: Mapped[str] = mapped_column(String(200), default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime)

    company: Mapped[Company] = relationship()


class ValueAdded(Base):
    """The value-added figure (付加価値増加額, million yen) the coordinator entered for a fiscal year."""

    __tablename__ = "value_added"

    fiscal_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    million_yen: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    entered_at: Mapped[dt.datetime] = mapped_column(DateTime)


def default_db_url() -> str:
    """Return the store's URL: ``KENSHU_KPI_DB``, else a SQLite file under ``kpi_reports/_build/``."""
    import os

    if os.environ.get(DB_ENVIRONMENT_VARIABLE):
        return os.environ[DB_ENVIRONMENT_VARIABLE]
    return f"sqlite:///{project_root() / 'kpi_reports' / '_build' / 'attendance.sqlite'}"


def _enable_sqlite_foreign_keys(dbapi_connection, connection_record) -> None:  # noqa: ANN001
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def existing_store_url(url: str | Path | None) -> str | Path | None:
    """Return *url* when it names a store that exists; raise for an SQLite file that does not.

    Commands that only read the store call this first, so that a mistyped
    ``--db`` is an error and not a new, empty store.
    """
    if url is None:
        # The environment variable is checked like --db; the office's default store may be new.
        url = os.environ.get(DB_ENVIRONMENT_VARIABLE) or None
        if url is None:
            return None
    text = str(url)
    path = Path(text.removeprefix("sqlite:///")) if text.startswith("sqlite:///") or "://" not in text else None
    if path is not None and text != "sqlite:///:memory:" and not path.exists():
        raise KenshuError("kpi.store_not_found", path=path)
    return url


def open_store(url: str | Path | None = None) -> sessionmaker[Session]:
    """Open (and create, if new) the attendance store and return a session factory.

    Parameters
    ----------
    url : str or Path, optional
        A SQLAlchemy URL, or the path of a SQLite file. Default: ``default_db_url()``.
    """
    if url is None:
        url = default_db_url()
    if isinstance(url, Path) or "://" not in str(url):
        path = Path(url)
        url = f"sqlite:///{path}"
    url = str(url)

    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        path = Path(url.removeprefix("sqlite:///"))
        if path.is_dir():
            raise KenshuError("kpi.store_is_folder", path=path)
        path.parent.mkdir(parents=True, exist_ok=True)

    url_without_password = make_url(url).render_as_string(hide_password=True)
    try:
        engine: Engine = create_engine(url)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _enable_sqlite_foreign_keys)
        Base.metadata.create_all(engine)
    except ModuleNotFoundError as error:
        # A PostgreSQL URL needs a driver that kenshu does not install (psycopg, for example).
        raise KenshuError("kpi.store_driver_missing", url=url_without_password, module=error.name) from None
    except SQLAlchemyError as error:
        # The driver's own error (error.orig) names the cause without SQLAlchemy's wrapping.
        cause = getattr(error, "orig", None) or error
        raise KenshuError("kpi.store_unusable", url=url_without_password, detail=str(cause).splitlines()[0]) from None
    logger.info("attendance store at %s", engine.url.render_as_string(hide_password=True))
    return sessionmaker(engine, expire_on_commit=False)
