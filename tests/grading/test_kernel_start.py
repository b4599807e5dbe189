"""A grading kernel that dies before replying to kernel_info, as when two workers race for a port, is started again."""

from __future__ import annotations

import socket
from pathlib import Path

import nbformat
import pytest

from kenshu.grading.contained import KERNEL_START_ATTEMPTS, ContainedExecute, ContainedKernelManager


class PortTakenManager(ContainedKernelManager):
    """A manager whose first kernels are given a stdin port another socket holds, as a racing worker would."""

    taken_port = 0
    collisions_left = 0
    created = 0

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        cls = type(self)
        cls.created += 1
        if cls.collisions_left > 0:
            cls.collisions_left -= 1
            # Without the port cache, jupyter_client keeps a port set here instead of picking its own.
            self.cache_ports = False
            self.stdin_port = cls.taken_port


@pytest.fixture
def taken_port():
    """Hold a listening TCP port on 127.0.0.1 and give it to PortTakenManager."""
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    PortTakenManager.taken_port = holder.getsockname()[1]
    PortTakenManager.created = 0
    try:
        yield PortTakenManager.taken_port
    finally:
        holder.close()


def _execute(folder: Path) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    preprocessor = ContainedExecute(kernel_manager_class=PortTakenManager, timeout=60, startup_timeout=60)
    executed, _ = preprocessor.preprocess(notebook, {"metadata": {"path": str(folder)}})
    return executed


def test_kernel_restarted_after_port_collision(taken_port: int, tmp_path: Path) -> None:
    PortTakenManager.collisions_left = 1

    executed = _execute(tmp_path)

    assert executed.cells[0].outputs[0]["text"] == "42\n"
    # The first kernel could not bind its port and died. The second one, on new ports, ran the cell.
    assert PortTakenManager.created == 2


def test_kernel_start_gives_up_after_attempts(taken_port: int, tmp_path: Path) -> None:
    PortTakenManager.collisions_left = KERNEL_START_ATTEMPTS

    with pytest.raises(RuntimeError, match="died"):
        _execute(tmp_path)
    assert PortTakenManager.created == KERNEL_START_ATTEMPTS
