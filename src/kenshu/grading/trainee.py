"""A trainee's side of the exchange: fetch an assignment and submit it.

On the hub each trainee does this from JupyterLab's Assignments tab. The demo
and the tests do it here, through the same nbgrader exchange classes, with
one home folder per simulated trainee.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config

from kenshu.errors import KenshuError
from kenshu.grading.api import CourseGrader

logger = logging.getLogger(__name__)


def _trainee_config(grader: CourseGrader, home: Path) -> Config:
    config = Config(grader.config)
    config.Exchange.assignment_dir = str(home)
    config.Exchange.cache = str(home / ".nbgrader_cache")
    return config


def _run_exchange(app, step: str, trainee_id: str, assignment: str) -> None:
    from nbgrader.exchange.abc import ExchangeError

    try:
        app.start()
    except ExchangeError as error:
        raise KenshuError("grading.exchange_failed", step=step, trainee=trainee_id, assignment=assignment, reason=error) from None


def fetch_assignment(grader: CourseGrader, assignment: str, trainee_id: str, home: Path) -> Path:
    """Fetch the released *assignment* into the trainee's *home* and return the assignment folder.

    An earlier copy in *home* is replaced, as a trainee who deletes the folder
    and fetches again would see.
    """
    config = _trainee_config(grader, home)
    destination = home / grader.spec.course_id / assignment
    if destination.exists():
        shutil.rmtree(destination)
    home.mkdir(parents=True, exist_ok=True)

    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    coursedir.student_id = trainee_id
    app = grader.api.exchange.FetchAssignment(coursedir=coursedir, authenticator=grader.api.authenticator, config=config)
    _run_exchange(app, "fetch_assignment", trainee_id, assignment)
    logger.info("%s fetched %s into %s", trainee_id, assignment, destination)
    return destination


def submit_assignment(grader: CourseGrader, assignment: str, trainee_id: str, home: Path) -> None:
    """Submit the trainee's copy of *assignment* from *home* to the exchange."""
    config = _trainee_config(grader, home)
    coursedir = CourseDirectory(config=config)
    coursedir.assignment_id = assignment
    coursedir.student_id = trainee_id
    app = grader.api.exchange.Submit(coursedir=coursedir, authenticator=grader.api.authenticator, config=config)
    _run_exchange(app, "submit", trainee_id, assignment)
    logger.info("%s submitted %s", trainee_id, assignment)
