"""JupyterHub activity as attendance evidence, read from a real hub started on 127.0.0.1."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import func, select

from kenshu.errors import KenshuError
from kenshu.kpi_reports.hub_import import import_hub_activity
from kenshu.kpi_reports.kpi import counted_trainees
from kenshu.kpi_reports.plan import Plan, YearTargets
from kenshu.kpi_reports.store import HubActivity

from .kpi_helpers import COURSE_ID

pytest.importorskip("jupyterhub", reason="JupyterHub is not installed (pip install jupyterhub)")

TOKEN = "kenshu-test-token-0123456789abcdef"
STARTUP_SECONDS = 120

# The hub normally starts configurable-http-proxy (a Node.js program). The
# REST API is served by the hub itself, so the test replaces the proxy with an
# in-memory one through JupyterHub's Proxy plugin class.
CONFIG = """
from jupyterhub.proxy import Proxy


class MemoryProxy(Proxy):
    should_start = False
    routes = {{}}

    async def start(self):
        pass

    async def stop(self):
        pass

    async def add_route(self, routespec, target, data):
        self.routes[routespec] = {{"routespec": routespec, "target": target, "data": data}}

    async def delete_route(self, routespec):
        self.routes.pop(routespec, None)

    async def get_all_routes(self):
        return dict(self.routes)


c = get_config()
c.JupyterHub.proxy_class = MemoryProxy
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {proxy_port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allowed_users = {{"s01", "s02", "s05", "guest"}}
c.JupyterHub.services = [{{"name": "kenshu", "api_token": "{token}"}}]
c.JupyterHub.load_roles = [
    {{
        "name": "kenshu-attendance",
        "scopes": ["list:users", "read:users", "read:users:activity", "read:servers", "users:activity"],
        "services": ["kenshu"],
    }}
]
c.JupyterHub.db_url = "sqlite:///{folder}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = "{folder}/cookie_secret"
c.JupyterHub.pid_file = "{folder}/jupyterhub.pid"
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory):
    """Start a real JupyterHub on 127.0.0.1 and return its URL; stop it after the module."""
    folder = tmp_path_factory.mktemp("hub")
    hub_port = _free_port()
    config = folder / "jupyterhub_config.py"
    config.write_text(
        CONFIG.format(proxy_port=_free_port(), hub_port=hub_port, token=TOKEN, folder=folder), encoding="utf-8"
    )
    scripts = Path(sys.executable).parent
    log = (folder / "hub.log").open("w")
    process = subprocess.Popen(
        [str(scripts / "jupyterhub"), "-f", str(config)],
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    url = f"http://127.0.0.1:{hub_port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                urllib.request.urlopen(f"{url}/hub/api/", timeout=2).close()
                break
            except (urllib.error.URLError, OSError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"JupyterHub did not start; log:\n{(folder / 'hub.log').read_text()}")
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _post_activity(url: str, user: str, when: dt.datetime) -> None:
    body = json.dumps({"last_activity": when.strftime("%Y-%m-%dT%H:%M:%SZ")}).encode()
    request = urllib.request.Request(
        f"{url}/hub/api/users/{user}/activity",
        data=body,
        method="POST",
        headers={"Authorization": f"token {TOKEN}", "Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()


def _plan(**window) -> Plan:  # noqa: ANN003
    rules = {"min_session_share": 0.5, "nbgrader_evidence": {"enabled": False}, "hub_evidence": window}
    return Plan.model_validate({"targets": {2026: YearTargets()}, "rules": rules})


def test_hub_activity_imported(hub: str, db, roster) -> None:
    # 01:00 UTC is 10:00 in Japan, on the first and second session days.
    _post_activity(hub, "s01", dt.datetime(2026, 6, 4, 1, 0))
    _post_activity(hub, "guest", dt.datetime(2026, 6, 4, 1, 0))
    first = import_hub_activity(hub, token=TOKEN, course_id=COURSE_ID, db=db, course=roster)
    _post_activity(hub, "s01", dt.datetime(2026, 6, 18, 1, 0))
    second = import_hub_activity(hub, token=TOKEN, course_id=COURSE_ID, db=db, course=roster)
    again = import_hub_activity(hub, token=TOKEN, course_id=COURSE_ID, db=db, course=roster)

    assert first.added == 1  # guest is not on the roster
    assert second.added == 1
    assert again.added == 0
    assert again.present == 1
    with db() as session:
        assert session.scalar(select(func.count()).select_from(HubActivity)) == 2
        counted = {item.trainee_key: item for item in counted_trainees(session, _plan())}
        disabled = counted_trainees(session, _plan(enabled=False))
    assert counted["s01"].attended == 2
    assert counted["s01"].evidence[0].startswith("hub:")
    assert disabled == []


def test_hub_bad_token_raises(hub: str, db, roster) -> None:
    with pytest.raises(KenshuError) as caught:
        import_hub_activity(hub, token="wrong-token", course_id=COURSE_ID, db=db, course=roster)
    assert "403" in str(caught.value) or "401" in str(caught.value)


def test_hub_unreachable_raises(db, roster) -> None:
    with pytest.raises(KenshuError) as caught:
        import_hub_activity(f"http://127.0.0.1:{_free_port()}", token=TOKEN, course_id=COURSE_ID, db=db, course=roster)
    assert "127.0.0.1" in str(caught.value)
