"""The kernel that runs report notebooks: its kernelspec and the manager that starts and stops it.

:func:`ensure_kernel` installs (once) a kernelspec named ``workbench`` that runs the Python
running ``workbench``, so a report is always executed by the same interpreter and packages.

:func:`manager_class` (``ReportKernelManager``) is the kernel manager papermill (nbclient) is given for a report.
It changes two things of jupyter_client's ``AsyncKernelManager``, each at the cause of a
log line a coordinator would read as an alarm during a successful run:

- **No interrupt at shutdown.** jupyter_client (since 7.0) sends SIGINT to a kernel before
  asking it to shut down, in case code is still running. A report kernel is shut down after
  its last cell has finished (or after the cell that failed), so there is nothing to stop;
  the signal only lands in ipykernel's message handler, which logs
  ``[IPKernelApp] ERROR | KeyboardInterrupt caught in kernel.``. The manager leaves the
  interrupt out while shutting down; a kernel that does not answer the shutdown request is
  still terminated, then killed, by jupyter_client (``shutdown_wait_time``).
- **Local sockets, not TCP.** On POSIX the kernel talks to the renderer over Unix domain
  sockets in the user's Jupyter runtime folder (``transport = "ipc"``, named after the
  kernel's own connection file) instead of loopback TCP ports: nothing is reachable by other users of the machine, and ipykernel does not print
  ``Kernel is running over TCP without encryption``.

The kernel keeps its default log level, so a real kernel problem is still printed.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

KERNEL_NAME = "workbench"
#: Written into the kernelspec's metadata; a spec without it (or for another Python) is rewritten.
SPEC_VERSION = 2


@functools.cache
def manager_class() -> type:
    """:class:`ReportKernelManager`, defined on first use (jupyter_client is imported only by a run)."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class ReportKernelManager(AsyncKernelManager):
        """``AsyncKernelManager`` without the interrupt at shutdown, over IPC sockets (see the module
        docstring)."""

        @default("connection_file")
        def _default_connection_file(self) -> str:
            return _connection_file()

        @default("transport")
        def _default_transport(self) -> str:
            return "ipc" if os.name == "posix" and len(self.connection_file) < _IPC_PATH_MAX else "tcp"

        async def _async_interrupt_kernel(self) -> None:
            if self.shutting_down:  # the notebook has finished: nothing runs that needs stopping
                return
            await super()._async_interrupt_kernel()

    return ReportKernelManager


#: Unix socket paths are limited to about 107 bytes: a longer runtime folder falls back to TCP.
_IPC_PATH_MAX = 90


def _connection_file() -> str:
    """A new connection file in the user's Jupyter runtime folder (private, 0700); the kernel's IPC
    sockets are named after it (``…-ipc-1`` …), so two kernels never share one."""
    import uuid

    from jupyter_core.paths import jupyter_runtime_dir

    folder = jupyter_runtime_dir()
    os.makedirs(folder, mode=0o700, exist_ok=True)
    return os.path.join(folder, f"kernel-{uuid.uuid4()}.json")


def ensure_kernel(name: str = KERNEL_NAME) -> str:
    """Install (once) a kernelspec named ``name`` that runs this interpreter, in its prefix.

    Works on a fresh machine and in any virtual environment: the kernel that runs the
    notebooks is always the Python that runs ``workbench``.
    """
    spec = Path(sys.prefix) / "share" / "jupyter" / "kernels" / name / "kernel.json"
    try:
        content = json.loads(spec.read_text())
        if content["argv"][0] == sys.executable and content["metadata"]["workbench"] == SPEC_VERSION:
            return name
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        pass
    import tempfile

    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager

    with tempfile.TemporaryDirectory() as tmp:
        source = write_kernel_spec(Path(tmp) / name, overrides={"display_name": "Python (workbench)",
                                                                 "metadata": {"workbench": SPEC_VERSION}})
        try:
            KernelSpecManager().install_kernel_spec(source, name, prefix=sys.prefix)
        except OSError:
            KernelSpecManager().install_kernel_spec(source, name, user=True)
    return name


def execute(notebook: str | Path, output: str | Path, parameters: dict | None = None, **options):
    """Run a notebook with papermill on the ``workbench`` kernel through :func:`manager_class`.

    ``options`` go to ``papermill.execute_notebook`` (``cwd``, ``log_output``…); no progress bar.
    """
    import papermill

    options.setdefault("progress_bar", False)
    return papermill.execute_notebook(str(notebook), str(output), parameters=parameters or {},
                                      kernel_name=ensure_kernel(), kernel_manager_class=manager_class(),
                                      **options)
