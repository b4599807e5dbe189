"""Import of JupyterHub user activity, through the hub's REST API, as evidence of attendance.

The hub keeps only each user's latest activity, so one import records what
the hub shows at that moment: the user's ``last_activity`` and that of each of
their servers. Run it on session days (from cron, say) to build the record. An
import that reads the same timestamps again adds nothing. Hub user names are
matched to trainee ids, which in kenshu are the hub user names.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from kenshu.errors import KenshuError
from kenshu.kpi_reports.importer import ImportResult, _open, register_roster
from kenshu.kpi_reports.recorder import Recorder, Source
from kenshu.kpi_reports.roster import make_roster
from kenshu.kpi_reports.store import HubActivity

logger = logging.getLogger(__name__)

PAGE_SIZE = 200
TIMEOUT_SECONDS = 30


def _api_url(hub_url: str, path: str, **query: object) -> str:
    base = hub_url.rstrip("/")
    if not base.endswith("/hub/api"):
        base += "/hub/api"
    return f"{base}/{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")


def _get_json(url: str, token: str, hub_url: str) -> Any:
    request = urllib.request.Request(
        url,
        headers={"Authorization": f"token {token}", "Accept": "application/jupyterhub-pagination+json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return json.load(response)
    except urllib.error.HTTPError as error:
        if error.code in (401, 403):
            raise KenshuError("kpi.hub_forbidden", url=hub_url, status=error.code) from None
        raise KenshuError("kpi.hub_unreachable", url=hub_url, detail=f"HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise KenshuError("kpi.hub_unreachable", url=hub_url, detail=str(getattr(error, "reason", error))) from None


def hub_users(hub_url: str, token: str) -> Iterator[dict[str, Any]]:
    """Yield every user model of the hub, following the REST API's pagination.

    The token needs the scopes ``list:users``, ``read:users:activity`` and
    ``read:servers``. A hub older than JupyterHub 2.0, which returns a plain
    list, is read in one request.
    """
    offset = 0
    while True:
        page = _get_json(_api_url(hub_url, "users", offset=offset, limit=PAGE_SIZE), token, hub_url)
        if isinstance(page, list):
            yield from page
            return
        items = page.get("items", [])
        yield from items
        following = (page.get("_pagination") or {}).get("next")
        if not following or not items:
            return
        offset = following.get("offset", offset + len(items))


def _parse_timestamp(text: str | None) -> dt.datetime | None:
    """Return a hub timestamp (ISO 8601, UTC) as a naive UTC datetime, or None."""
    if not text:
        return None
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value


def import_hub_activity(
    hub_url: str,
    *,
    token: str,
    course_id: str,
    db: str | Path | sessionmaker[Session] | None = None,
    course: Any = None,
) -> ImportResult:
    """Record the current activity of the hub's users who are trainees of *course_id*.

    Parameters
    ----------
    hub_url : str
        The hub's address (``http://127.0.0.1:8081`` or ``…/hub/api``).
    token : str
        A JupyterHub API token; it is sent only to *hub_url* and never logged.
    course_id : str
        The kenshu course the activity counts for.
    course : course folder, CourseSpec, Roster or iterable of (id, name, company), optional
        With a roster, only users on it are read (a hub serves many courses).
        Without one, every user of the hub is taken as a trainee of *course_id*.

    Returns
    -------
    ImportResult
        ``rows_read`` counts (user, timestamp) pairs of trainees; users not on
        the roster are left out without being reported.

    Raises
    ------
    KenshuError
        If the hub cannot be reached or rejects the token.
    """
    roster = make_roster(course, course_id=course_id)
    label = hub_url.rstrip("/")
    result = ImportResult(file=label, encoding="jupyterhub")
    logger.info("reading user activity from %s for course %s", label, course_id)

    # 1. Read the users and their activity timestamps.
    seen: list[tuple[str, dt.datetime]] = []
    for user in hub_users(hub_url, token):
        name = user.get("name", "")
        if roster is not None and roster.by_id(name) is None:
            continue
        stamps = [user.get("last_activity")] + [server.get("last_activity") for server in (user.get("servers") or {}).values()]
        for stamp in sorted({parsed for parsed in map(_parse_timestamp, stamps) if parsed is not None}):
            seen.append((name, stamp))

    # 2. Store each (trainee, timestamp) once.
    with _open(db)() as session, session.begin():
        recorder = Recorder(session)
        if roster is not None:
            register_roster(recorder, roster)
        course_row_id = recorder.course_row_id(course_id, Source(label))
        stored = set(
            session.execute(
                select(HubActivity.trainee_id, HubActivity.timestamp).where(HubActivity.course_id == course_row_id)
            ).all()
        )
        for row_number, (name, stamp) in enumerate(seen, start=1):
            result.rows_read += 1
            entry = roster.by_id(name) if roster is not None else None
            trainee_row_id = recorder.trainee_row_id(
                name,
                trainee_id=name,
                name=entry.name if entry else "",
                company=entry.company if entry else "",
                source=Source(label, row_number),
            )
            if (trainee_row_id, stamp) in stored:
                result.present += 1
                continue
            session.add(
                HubActivity(course_id=course_row_id, trainee_id=trainee_row_id, timestamp=stamp, source_file=label, source_row=row_number)
            )
            stored.add((trainee_row_id, stamp))
            result.added += 1

    logger.info("%s: %d activity timestamps read, %d added, %d present", label, result.rows_read, result.added, result.present)
    return result
