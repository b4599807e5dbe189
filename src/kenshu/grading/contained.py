"""Containment of trainee code during autograding, through nbgrader's and nbclient's own seams.

- ``ContainedKernelManager`` is the ``kernel_manager_class`` of nbgrader's
  ``Execute`` preprocessor: it starts each kernel through
  ``kenshu.grading.launcher``, which applies the memory limit, hides the
  instructor's files and drops root.
- ``ContainedExecute`` replaces ``Execute`` in ``Autograde.autograde_preprocessors``.
  It adds a wall-clock limit for the whole notebook and a cap on the output
  one notebook may keep. When the kernel dies, the remaining cells are marked
  failed and the notebook is still graded, where stock nbgrader fails it.
  A kernel that dies before it replies to ``kernel_info`` is started again
  on new ports, because parallel workers pick free ports independently and
  two kernels can race for the same one.

Both are switched on by ``contained_config``; an ``nbgrader autograde`` run
without that configuration behaves exactly as stock nbgrader.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient.exceptions import DeadKernelError
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import Execute
from traitlets import Integer, List, Unicode
from traitlets.config import Config

# ename of the error outputs ContainedExecute writes; the feedback and the status read them back.
KERNEL_DIED = "KernelDied"
NOTEBOOK_TIMEOUT = "NotebookTimeout"
CELL_TIMEOUT = "CellTimeoutError"  # nbgrader's Execute.error_on_timeout
OUTPUT_CAP_MARKER = "[kenshu:output-capped]"
# Kernels started for one notebook before its grading fails. No trainee code runs before a kernel replies to kernel_info.
KERNEL_START_ATTEMPTS = 3

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """The limits of one grading kernel.

    Attributes
    ----------
    cell_timeout : int
        Seconds one cell may run before it is interrupted.
    notebook_timeout : int
        Seconds the whole notebook may run; cells after that are not run.
    memory_bytes : int
        ``RLIMIT_DATA`` of the kernel process (heap and private writable mappings).
    output_bytes : int
        Output one notebook may keep, counted as the JSON size of each output message.
    file_bytes : int
        Largest file the kernel may write, and largest extra file copied from a submission.
    max_processes : int
        ``RLIMIT_NPROC`` of the kernel's user when the kernel runs as its own user.
    """

    cell_timeout: int = 120
    notebook_timeout: int = 900
    memory_bytes: int = 2 * 1024**3
    output_bytes: int = 1024**2
    file_bytes: int = 64 * 1024**2
    max_processes: int = 256

    @classmethod
    def from_spec(cls, spec) -> Limits:
        """Return the limits of *spec*'s ``grading`` section."""
        grading = spec.grading
        return cls(
            cell_timeout=grading.cell_timeout,
            notebook_timeout=grading.notebook_timeout,
            memory_bytes=grading.memory_mb * 1024**2,
            output_bytes=grading.output_kb * 1024,
        )


class ContainedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernels start through ``kenshu.grading.launcher``."""

    memory_bytes = Integer(0, help="RLIMIT_DATA of the kernel, in bytes (0: none)").tag(config=True)
    file_bytes = Integer(0, help="RLIMIT_FSIZE of the kernel, in bytes (0: none)").tag(config=True)
    max_processes = Integer(0, help="RLIMIT_NPROC of the kernel's user (0: none)").tag(config=True)
    sandbox_uid = Integer(-1, help="uid the kernel drops to when the grader is root (-1: keep the grader's)").tag(
        config=True
    )
    pid_file = Unicode("", help="file the launcher appends the kernel's process id to").tag(config=True)
    hide_paths = List(Unicode(), help="folders covered by an empty mount inside the kernel").tag(config=True)
    expose_paths = List(Unicode(), help="folders kept reachable inside the kernel").tag(config=True)
    threads = Integer(0, help="threads numerical libraries in the kernel may start (0: their default)").tag(config=True)
    matplotlib_cache = Unicode("", help="folder whose matplotlib font list is copied to a sandboxed kernel").tag(config=True)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        """Return the kernel command with the launcher and its options in front."""
        command = super().format_kernel_cmd(extra_arguments)
        launcher = [sys.executable, "-m", "kenshu.grading.launcher"]
        launcher += ["--memory-bytes", str(self.memory_bytes), "--file-bytes", str(self.file_bytes)]
        launcher += ["--max-processes", str(self.max_processes), "--uid", str(self.sandbox_uid)]
        if self.pid_file:
            launcher += ["--pid-file", self.pid_file]
        for path in self.hide_paths:
            launcher += ["--hide", path]
        for path in self.expose_paths:
            launcher += ["--expose", path]
        if self.threads:
            launcher += ["--threads", str(self.threads)]
        if self.matplotlib_cache:
            launcher += ["--matplotlib-cache", self.matplotlib_cache]
        return launcher + ["--"] + command


class ContainedExecute(Execute):
    """nbgrader's ``Execute`` with a notebook wall-clock limit, an output cap and survival of a dead kernel."""

    notebook_timeout = Integer(900, help="seconds the whole notebook may run").tag(config=True)
    output_limit = Integer(1024**2, help="bytes of output one notebook may keep").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources=None, km=None):
        """Execute *nb* as nbgrader does, inside the notebook's wall-clock and output limits."""
        self._deadline = time.monotonic() + self.notebook_timeout
        self._cell_timeout = self.timeout
        self._output_total = 0
        self._cell_output_bytes: dict[int, int] = {}
        self._capped_cells: set[int] = set()
        self._kernel_dead = False
        return super().preprocess(nb, resources, km)

    async def async_start_new_kernel_client(self):
        """Connect to the kernel, and start a new one on new ports when it died before replying to ``kernel_info``."""
        attempt = 1
        while True:
            try:
                return await super().async_start_new_kernel_client()
            except RuntimeError as error:
                if attempt >= KERNEL_START_ATTEMPTS or "died" not in str(error):
                    raise
                self.log.warning("kernel died while starting (attempt %d of %d): %s", attempt, KERNEL_START_ATTEMPTS, error)
            attempt += 1
            # nbclient has already cleaned up the dead kernel. A new manager picks new ports.
            self.km = self.create_kernel_manager()
            await self.async_start_new_kernel()

    # nbclient's blocking start_new_kernel_client wraps nbclient's coroutine, so wrap this one instead.
    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def preprocess_cell(self, cell, resources, index):
        """Execute one cell, or mark it failed when the kernel died or the notebook ran out of time."""
        if cell.cell_type != "code" or not cell.source.strip():
            return super().preprocess_cell(cell, resources, index)

        remaining = self._deadline - time.monotonic()
        if self._kernel_dead:
            return _mark_not_run(cell, KERNEL_DIED, "the kernel stopped in an earlier cell"), resources
        if remaining <= 0:
            return _mark_not_run(cell, NOTEBOOK_TIMEOUT, f"notebook time limit of {self.notebook_timeout} s reached"), resources

        self.timeout = max(1, min(self._cell_timeout or remaining, int(remaining) + 1))
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._kernel_dead = True
            return _mark_not_run(cell, KERNEL_DIED, "the kernel stopped while running this cell"), resources
        finally:
            self.timeout = self._cell_timeout

    def output(self, outs, msg, display_id, cell_index):
        """Keep an output message unless the outputs the notebook keeps already exceed ``output_limit``.

        Only kept outputs count: a cell that redraws a live plot with
        ``clear_output`` keeps one frame, however many it sent.
        """
        if self.clear_before_next_output:
            # nbclient empties this cell's outputs before it adds this one (clear_output(wait=True)).
            self._forget_cell_output(cell_index)
        size = len(json.dumps(msg.get("content", {}), default=str))
        if self._output_total + size <= self.output_limit:
            self._output_total += size
            self._cell_output_bytes[cell_index] = self._cell_output_bytes.get(cell_index, 0) + size
            return super().output(outs, msg, display_id, cell_index)
        if cell_index not in self._capped_cells:
            self._capped_cells.add(cell_index)
            notice = f"{OUTPUT_CAP_MARKER} output beyond {self.output_limit} bytes was dropped\n"
            outs.append(new_output("stream", name="stderr", text=notice))
        return None

    def clear_output(self, outs, msg, cell_index):
        """Clear the cell's outputs as nbclient does, and stop counting what they held."""
        if not msg["content"].get("wait"):
            self._forget_cell_output(cell_index)
        return super().clear_output(outs, msg, cell_index)

    def _forget_cell_output(self, cell_index: int) -> None:
        self._output_total -= self._cell_output_bytes.pop(cell_index, 0)


def _mark_not_run(cell: NotebookNode, ename: str, evalue: str) -> NotebookNode:
    cell.outputs = [new_output("error", ename=ename, evalue=evalue, traceback=[f"{ename}: {evalue}"])]
    cell.execution_count = None
    return cell


def contained_config(
    config: Config,
    limits: Limits,
    *,
    sandbox_uid: int,
    pid_file: Path,
    hide: list[Path],
    expose: list[Path],
    threads: int = 0,
    matplotlib_cache: Path | None = None,
) -> Config:
    """Return a copy of *config* in which nbgrader autogrades with ``ContainedExecute`` and contained kernels.

    *threads* sizes the kernel's numerical thread pools (0 leaves the
    libraries' default); *matplotlib_cache* is a folder holding a built
    matplotlib font list for sandboxed kernels, whose configuration folder
    starts empty.
    """
    contained = Config(config)
    stock = list(contained.Autograde.get("autograde_preprocessors", []))
    if not stock:
        from nbgrader.converters.autograde import Autograde

        stock = list(Autograde.class_traits()["autograde_preprocessors"].default())
    contained.Autograde.autograde_preprocessors = [ContainedExecute if item is Execute else item for item in stock]

    # ContainedExecute is configured under its own name; copy what the course set for Execute.
    for key, value in config.get("Execute", {}).items():
        contained.ContainedExecute[key] = value
    contained.ContainedExecute.timeout = limits.cell_timeout
    contained.ContainedExecute.interrupt_on_timeout = True
    contained.ContainedExecute.notebook_timeout = limits.notebook_timeout
    contained.ContainedExecute.output_limit = limits.output_bytes
    contained.ContainedExecute.kernel_manager_class = ContainedKernelManager

    contained.ContainedKernelManager.memory_bytes = limits.memory_bytes
    contained.ContainedKernelManager.file_bytes = limits.file_bytes
    contained.ContainedKernelManager.max_processes = limits.max_processes
    contained.ContainedKernelManager.sandbox_uid = sandbox_uid if os.geteuid() == 0 else -1
    contained.ContainedKernelManager.pid_file = str(pid_file)
    contained.ContainedKernelManager.hide_paths = [str(path) for path in hide]
    contained.ContainedKernelManager.expose_paths = [str(path) for path in expose]
    contained.ContainedKernelManager.threads = threads
    contained.ContainedKernelManager.matplotlib_cache = str(matplotlib_cache) if matplotlib_cache else ""
    return contained


def build_matplotlib_cache(folder: Path) -> Path | None:
    """Build matplotlib's font list in *folder* with this Python; return the folder, or None on failure.

    A sandboxed kernel starts with an empty matplotlib configuration folder
    and would otherwise rebuild the font list (about a second) in every
    notebook it grades.
    """
    folder.mkdir(parents=True, exist_ok=True)
    environment = {**os.environ, "MPLCONFIGDIR": str(folder)}
    try:
        subprocess.run(
            [sys.executable, "-c", "import matplotlib.font_manager"],
            env=environment,
            check=True,
            capture_output=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError) as error:
        logger.warning("matplotlib font cache not built in %s: %s", folder, error)
        return None
    return folder if any(folder.glob("fontlist-*.json")) else None
