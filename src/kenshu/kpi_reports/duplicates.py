"""Trainee records that may be one person, for someone in the office to confirm.

A sheet without ids can make two records of one person: once as ``s05`` from
the roster and once by name only, or under two spellings of the name. Records
are never merged here. The report lists each pair with the reason and the
file and row each record came from, and the office corrects the sheet (by
adding the 受講者ID) and imports it again.
"""

from __future__ import annotations

import difflib
import itertools
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kenshu.i18n import message
from kenshu.kpi_reports.importer import _open
from kenshu.kpi_reports.store import Company, Trainee

# Two different name keys of one company at least this similar (difflib ratio) are listed.
# 0.65 lists three-character names that differ in one character (田中健, 田中建: 0.67).
SIMILARITY_THRESHOLD = 0.65


@dataclass(frozen=True)
class PossibleDuplicate:
    """Two trainee records that may be one person, with where each came from."""

    first_key: str
    first_name: str
    first_source: str
    second_key: str
    second_name: str
    second_source: str
    company: str
    reason: str

    def __str__(self) -> str:
        return message(
            "kpi.duplicate_pair",
            first=f"{self.first_name} [{self.first_key}] ({self.first_source})",
            second=f"{self.second_name} [{self.second_key}] ({self.second_source})",
            company=self.company or "-",
            reason=self.reason,
        )


def _source(trainee: Trainee) -> str:
    return f"{trainee.source_file}:{trainee.source_row}" if trainee.source_row is not None else trainee.source_file


def find_possible_duplicates(
    *, db: str | Path | sessionmaker[Session] | None = None, threshold: float = SIMILARITY_THRESHOLD
) -> list[PossibleDuplicate]:
    """Return pairs of trainee records that may be the same person; merge nothing.

    A pair is listed when both records have the same name key (the same name
    up to width and spaces) under different keys. A pair is also listed when
    their name keys are at least *threshold* similar within one company,
    unless both have a roster id, because the roster vouches that two ids are
    two people.
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    with _open(db)() as session:
        companies = {row.id: row.name for row in session.scalars(select(Company))}
        trainees = list(session.scalars(select(Trainee).order_by(Trainee.id)))

    by_company: dict[int | None, list[Trainee]] = defaultdict(list)
    for trainee in trainees:
        by_company[trainee.company_id].append(trainee)

    # NOTE: pairs are compared within each company, so the same person written
    # under two company spellings that do not share a company key is not listed.
    found = []
    for company_id, group in by_company.items():
        for first, second in itertools.combinations(group, 2):
            if not first.name_key or not second.name_key:
                continue
            if first.name_key == second.name_key:
                reason = message("kpi.duplicate_same_name")
            elif first.trainee_id and second.trainee_id:
                continue
            else:
                ratio = difflib.SequenceMatcher(None, first.name_key, second.name_key).ratio()
                if ratio < threshold:
                    continue
                reason = message("kpi.duplicate_similar_name", ratio=f"{ratio:.2f}")
            found.append(
                PossibleDuplicate(
                    first.key, first.name, _source(first), second.key, second.name, _source(second),
                    companies.get(company_id, "") if company_id else "", reason,
                )
            )
    return found
