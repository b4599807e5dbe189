"""Company events and the value-added figure entered by the coordinator."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from kenshu.kpi_reports.events import add_company_event, set_value_added
from kenshu.kpi_reports.store import CompanyEvent, ValueAdded


def test_event_added_once(db) -> None:
    first = add_company_event(company="株式会社さくら精工", kind="developed", date=dt.date(2026, 10, 1), course_id="c1", evidence="検査AIを開発", db=db)
    second = add_company_event(company="株式会社 さくら精工", kind="developed", date=dt.date(2026, 10, 1), course_id="c1", evidence="検査AIを開発", db=db)
    assert first.added
    assert not second.added
    assert second.event_id == first.event_id
    with db() as session:
        assert session.scalar(select(func.count()).select_from(CompanyEvent)) == 1


def test_event_bad_kind_raises(db) -> None:
    with pytest.raises(ValueError, match="bought"):
        add_company_event(company="A社", kind="bought", date=dt.date(2026, 10, 1), db=db)


def test_event_empty_company_raises(db) -> None:
    with pytest.raises(ValueError):
        add_company_event(company="　", kind="developed", date=dt.date(2026, 10, 1), db=db)


def test_value_added_replaced(db) -> None:
    assert set_value_added(2026, 1200, db=db) is None
    assert set_value_added(2026, 1350.5, note="決算確定", db=db) == 1200
    with db() as session:
        row = session.get(ValueAdded, 2026)
    assert row.million_yen == 1350.5
    assert row.note == "決算確定"


def test_value_added_negative_raises(db) -> None:
    with pytest.raises(ValueError):
        set_value_added(2026, -1, db=db)
