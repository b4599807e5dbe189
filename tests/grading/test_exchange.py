"""Two companies' courses on one exchange: a trainee of one course cannot list or read the other's submissions."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from kenshu.errors import KenshuError

from .conftest import ASSIGNMENT, needs_root, released_course, solved_notebook, submit, writer

USERS = {"kenshu-test-ta": "kenshu-test-course-a", "kenshu-test-tb": "kenshu-test-course-b"}

PROBE = """
import json, os, sys
def attempt(action, path):
    try:
        if action == "list":
            return "ok:" + ",".join(os.listdir(path))
        if action == "read":
            with open(path, "rb") as handle:
                handle.read(16)
            return "ok"
        with open(os.path.join(path, "probe.txt"), "w") as handle:
            handle.write("x")
        return "ok"
    except OSError as error:
        return type(error).__name__
print(json.dumps({name: attempt(action, path) for name, (action, path) in json.loads(sys.argv[1]).items()}))
"""


@pytest.fixture
def local_users():
    """Create two local users, each in its course's group, and remove them afterwards."""
    created = []
    for user, group in USERS.items():
        if subprocess.run(["getent", "group", group], capture_output=True).returncode != 0:
            subprocess.run(["groupadd", group], check=True)
        if subprocess.run(["id", user], capture_output=True).returncode != 0:
            subprocess.run(["useradd", "--no-create-home", "--gid", group, "--shell", "/usr/sbin/nologin", user], check=True)
        created.append((user, group))
    yield USERS
    for user, group in created:
        subprocess.run(["userdel", user], capture_output=True)
        subprocess.run(["groupdel", group], capture_output=True)


def _run_as(user: str, checks: dict) -> dict:
    command = ["setpriv", f"--reuid={user}", f"--regid={USERS[user]}", "--init-groups", "/usr/bin/python3", "-c", PROBE, json.dumps(checks)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=60, cwd="/")
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout)


@needs_root
def test_courses_apart_on_one_exchange(tmp_path: Path, project_factory, local_users, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = Path(tempfile.mkdtemp(prefix="kenshu-exchange-"))
    shared.chmod(0o755)
    exchange = shared / "exchange"
    try:
        graders = {}
        for label, course_id in (("a", "test-2026"), ("b", "other-2026")):
            monkeypatch.setenv("KENSHU_HOME", str(tmp_path / label))
            grading = f"grading:\n  exchange: {exchange}\n  exchange_group: kenshu-test-course-{label}\n"
            (tmp_path / label).mkdir()
            grader = released_course(tmp_path / label, _renamed(project_factory, course_id), trainees=1, grading=grading)
            submit(grader, "t1", tmp_path / label / "homes", writer(solved_notebook(grader, "full")))
            graders[label] = grader
        inbound_b = exchange / "other-2026" / "inbound"
        submission_b = next(inbound_b.iterdir())

        seen = _run_as(
            "kenshu-test-ta",
            {
                "own_outbound": ("list", str(exchange / "test-2026" / "outbound" / ASSIGNMENT)),
                "own_inbound_write": ("write", str(exchange / "test-2026" / "inbound")),
                "own_inbound_list": ("list", str(exchange / "test-2026" / "inbound")),
                "other_course": ("list", str(exchange / "other-2026")),
                "other_inbound": ("list", str(inbound_b)),
                "other_submission": ("read", str(submission_b / f"{ASSIGNMENT}.ipynb")),
                "other_outbound": ("list", str(exchange / "other-2026" / "outbound" / ASSIGNMENT)),
            },
        )

        assert seen["own_outbound"].startswith("ok:")
        assert ASSIGNMENT in seen["own_outbound"]
        assert seen["own_inbound_write"] == "ok"
        assert seen["own_inbound_list"] == "PermissionError"
        assert seen["other_course"] == "PermissionError"
        assert seen["other_inbound"] == "PermissionError"
        assert seen["other_submission"] == "PermissionError"
        assert seen["other_outbound"] == "PermissionError"
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def _renamed(project_factory, course_id: str):
    def make(root: Path, *, trainees: int) -> Path:
        course_dir = project_factory(root, trainees=trainees)
        spec_path = course_dir / "course.yml"
        spec_path.write_text(spec_path.read_text(encoding="utf-8").replace("course_id: test-2026", f"course_id: {course_id}"), encoding="utf-8")
        return course_dir

    return make


@needs_root
def test_exchange_group_missing_named(tmp_path: Path, project_factory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KENSHU_HOME", str(tmp_path))
    with pytest.raises(KenshuError) as caught:
        released_course(tmp_path, project_factory, trainees=1, grading="grading:\n  exchange_group: kenshu-no-such-group\n")
    assert "kenshu-no-such-group" in str(caught.value)
    assert "groupadd" in str(caught.value)
