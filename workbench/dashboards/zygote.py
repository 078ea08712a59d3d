"""Dashboard kernels forked from a warm template instead of started from nothing.

A page view runs the dashboard notebook in a kernel of its own. Started the ordinary way, each kernel
is a new Python process that imports polars, altair, ipywidgets, vl-convert, ipykernel and workbench
(about 1.5 s of CPU) and reads its own copy of the extract: ten viewers on two cores queue behind each
other, and each holds 150–300 MB. Here:

- **The template** (``python -m workbench.dashboards.zygote SOCKET``, started by
  :func:`workbench.dashboards.server.running` beside Voilà) imports what the dashboard notebook
  imports, loads the server's snapshot of the extract, calls :func:`gc.freeze` and waits on a Unix
  socket in its private folder. For each request it ``fork()`` s a child that becomes an ipykernel on
  the connection file asked for. Children share the template's pages copy-on-write: the modules and
  the extract's Arrow buffers (which no child writes) are in memory once, and a kernel is ready in
  milliseconds.
- **The provisioner** (:class:`ForkingProvisioner`, entry point ``workbench-forked`` of
  ``jupyter_client.kernel_provisioners``), named by the kernelspec the server writes for Voilà
  (:func:`write_kernelspec`), asks the template for a kernel and manages a process that is not its own
  child: poll through a pidfd, signals to the kernel's process group, the exit status sent by the
  template when it reaps the child. When the template is not there or refuses, the kernel starts the
  ordinary way.

Fork safety: a process forked while other threads run keeps only the forking thread; a lock or pool
those threads held is broken in the child. Importing polars starts two jemalloc background threads
(jemalloc handles fork) and polars' spill cleaner (idle; the dashboards never spill); polars' compute
pool (``polars-<n>``) and any tokio runtime start on first use. The template therefore does no polars
work: unpickling the snapshot rebuilds frames without the pool. Before every fork it reads its own
threads (``/proc/self/task/*/comm``) and refuses (the kernel then starts the ordinary way) when any
thread but those is running. vl-convert's JavaScript engine runs threads from its first chart: the
template forks, before any kernel, one renderer process that starts it and draws every kernel's charts
(:mod:`workbench.dashboards.renderer`).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import json
import os
import select
import selectors
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Unicode

PROVISIONER = "workbench-forked"
KERNEL_NAME = "python3"  # the dashboards' notebooks ask for it; the server's own spec wins for its Voilà
READY = "workbench: kernel template ready"
#: Threads that may run in the template when it forks (see the module's docstring).
FORK_SAFE_THREADS = frozenset({"jemalloc_bg_thd", "polars-ooc-clea"})
_MAX_REQUEST = 1 << 20


# --------------------------------------------------------------------------- kernelspec

def write_kernelspec(data_dir: Path, socket_path: Path) -> Path:
    """A Jupyter data folder whose ``python3`` kernel is forked from the template at ``socket_path``."""
    spec_dir = data_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (workbench dashboards)", "language": "python",
            "metadata": {"debugger": False,
                         "kernel_provisioner": {"provisioner_name": PROVISIONER,
                                                "config": {"template_socket": str(socket_path)}}}}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return data_dir


# --------------------------------------------------------------------------- template

def _threads() -> list[str]:
    """The names of the threads running beside this process's main thread."""
    names = []
    for tid in os.listdir("/proc/self/task"):
        if int(tid) != os.getpid():
            with contextlib.suppress(OSError):
                names.append(Path(f"/proc/self/task/{tid}/comm").read_text().strip())
    return sorted(names)


def unsafe_threads() -> list[str]:
    """Threads running beside the main one that a fork would break (empty: safe to fork)."""
    return [name for name in _threads() if name not in FORK_SAFE_THREADS]


#: What a dashboard kernel imports, also lazily while it builds a page (charts, tables, downloads):
#: imported once in the template. ``tests/test_dashboard_fork.py`` checks that building a page in a
#: forked kernel imports no further package.
WARM_MODULES = (
    "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.comm", "ipykernel.zmqshell", "ipykernel.debugger",
    "pydevd", "sqlite3", "pdb", "code", "pydoc", "psutil", "faulthandler", "resource", "gzip", "xmlrpc.client",
    "xml.dom.minidom", "stringprep", "ipywidgets", "anywidget", "polars",
    "narwhals", "narwhals.stable.v1", "altair", "jsonschema", "vl_convert", "great_tables", "xlsxwriter",
    "babel.numbers", "pycountry", "jinja2", "http.server", "urllib.request", "email.parser", "fractions",
    "workbench.dashboards.server", "workbench.dashboards.views", "workbench.dashboards.widgets",
    "workbench.present.charts", "workbench.present.tables", "workbench.present.exports",
    "workbench.present.cells", "workbench.present.labels", "workbench.disclosure", "workbench.selection",
    "workbench.indicators.engine",
)

#: The package names imported when the template was warmed (inherited by every kernel it forks).
warmed: frozenset[str] = frozenset()


def warm() -> None:
    """Import what a dashboard kernel imports, validate one chart with altair (its Vega-Lite schema
    and validators are then built), and load the server's extract: without a thread."""
    global warmed
    import importlib

    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # no debugging here: no note on frozen modules

    for name in WARM_MODULES:
        importlib.import_module(name)
    import altair as alt

    data = alt.Data(values=[{"c": "a", "v": 1.5}, {"c": "b", "v": 2}])
    alt.layer(alt.Chart(data).mark_bar().encode(y="c:N", x=alt.X("v:Q", axis=alt.Axis(format=",d"))),
              alt.Chart(data).mark_text().encode(y="c:N", x="v:Q", text="v:Q")).to_dict()
    from workbench.dashboards import server

    if os.environ.get(server.ENV_SNAPSHOT):
        server.kernel_extract()
    warmed = frozenset(name.partition(".")[0] for name in sys.modules)


def _become_kernel(request: dict, fds: list[int], closing: list, charts_socket: Path) -> None:
    """In the forked child: become ``python -m ipykernel_launcher ARGS`` with the request's env."""
    code = 1
    try:
        atexit._clear()  # the template's handlers are not this kernel's
        for sock in closing:
            sock.close()
        os.setsid()
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in {null, *fds}:
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        # ipykernel read JPY_PARENT_PID when the template imported it: the kernel watches its parent, the
        # template (which leaves when the server does)
        # ipywidgets registers its comm targets when imported in a running kernel; the template imported it
        # before there was one: register them once the kernel runs, or pages cannot fetch widget states
        sys.argv = [request["argv"][0], *request["argv"][3:], f"--IPKernelApp.parent_handle={os.getppid()}",
                    "--IPKernelApp.exec_lines=import ipywidgets; ipywidgets.register_comm_target()"]
        gc.enable()
        if charts_socket.exists():  # the charts are drawn by the template's renderer, not in this kernel
            from workbench.dashboards import renderer
            from workbench.present import charts

            charts.svg_renderer = renderer.Client(str(charts_socket))
        from ipykernel import kernelapp

        try:
            kernelapp.launch_new_instance()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        atexit._run_exitfuncs()
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def serve_template(socket_path: Path) -> None:
    """The template's loop: fork a kernel per request, report each child's exit, until stopped."""
    warm()
    gc.collect()
    gc.freeze()  # the objects loaded so far are never traversed again: their pages stay shared
    charts_socket = _start_renderer(socket_path.with_name("charts.sock"))
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(str(socket_path))
    os.chmod(socket_path, 0o600)
    listener.listen(64)
    children: dict[int, socket.socket] = {}
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    parent = os.getppid()
    print(f"{READY} (pid {os.getpid()}, threads beside the main one: {', '.join(_threads()) or 'none'})", file=sys.stderr, flush=True)
    while os.getppid() == parent:
        for _key, _ in sel.select(timeout=0.2):
            conn, _ = listener.accept()
            _fork_for(conn, [listener, sel], children, charts_socket)
        _reap(children)


def _start_renderer(path: Path, timeout: float = 60) -> Path:
    """Fork the one chart renderer (:mod:`workbench.dashboards.renderer`) and wait until it listens."""
    template = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() == 0:
        code = 1
        try:
            from workbench.dashboards import renderer

            renderer.serve(path, template)
            code = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    return path


def _fork_for(conn: socket.socket, own: list, children: dict[int, socket.socket], charts_socket: Path) -> None:
    """Fork a kernel for the request on ``conn``; ``own``: the template's listener and selector."""
    fds: list[int] = []
    try:
        conn.settimeout(5)
        data, fds, _flags, _addr = socket.recv_fds(conn, _MAX_REQUEST, 2)
        request = json.loads(data)
        if len(fds) != 2:
            raise ValueError("two descriptors expected (stdout, stderr)")
        unsafe = unsafe_threads()
        if unsafe:
            conn.sendall(json.dumps({"refused": f"threads running in the template: {unsafe}"}).encode())
            conn.close()
            return
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            _become_kernel(request, fds, [*own, conn, *children.values()], charts_socket)
        children[pid] = conn
        conn.sendall(json.dumps({"pid": pid}).encode())
    except (OSError, ValueError) as exc:
        print(f"workbench: kernel template: request refused ({exc})", file=sys.stderr, flush=True)
        with contextlib.suppress(OSError):
            conn.close()
    finally:
        for fd in fds:
            os.close(fd)


def _reap(children: dict[int, socket.socket]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode())
            conn.close()


# --------------------------------------------------------------------------- provisioner

class ForkedKernel:
    """The part of :class:`subprocess.Popen` that :class:`LocalProvisioner` uses, for a kernel forked
    by the template (the template's child, not ours)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int, conn: socket.socket) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self._conn = conn
        self._pidfd = os.pidfd_open(pid)

    def _status(self, timeout: float) -> int | None:
        """The exit status the template sends when it reaps the kernel."""
        with contextlib.suppress(OSError, ValueError):
            if select.select([self._conn], [], [], timeout)[0]:
                data = self._conn.recv(4096)
                if data:
                    return int(json.loads(data)["exit"])
        return None

    def poll(self) -> int | None:
        if self.returncode is None and select.select([self._pidfd], [], [], 0)[0]:
            status = self._status(timeout=2)
            self.returncode = status if status is not None else -signal.SIGKILL
            self._close()
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                import subprocess

                raise subprocess.TimeoutExpired(["kernel", str(self.pid)], timeout)
            select.select([self._pidfd], [], [], 0.1)
        return self.returncode

    def send_signal(self, signum: int) -> None:
        if self.returncode is None:
            signal.pidfd_send_signal(self._pidfd, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def _close(self) -> None:
        for closing in (lambda: os.close(self._pidfd), self._conn.close):
            with contextlib.suppress(OSError):
                closing()


def ask_template(socket_path: str, cmd: list[str], env: dict[str, str], cwd: str,
                 stdout: int, stderr: int, timeout: float = 10) -> ForkedKernel:
    """A kernel forked by the template for ``cmd`` (``python -m ipykernel_launcher -f FILE``)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        conn.settimeout(timeout)
        conn.connect(socket_path)
        request = json.dumps({"argv": cmd, "env": env, "cwd": cwd}).encode()
        socket.send_fds(conn, [request], [stdout, stderr])
        answer = json.loads(conn.recv(4096) or b"{}")
        if "pid" not in answer:
            raise OSError(answer.get("refused", "the template closed the connection"))
        conn.settimeout(None)
        return ForkedKernel(int(answer["pid"]), conn)
    except BaseException:
        conn.close()
        raise


def _forkable(cmd: list[str]) -> bool:
    return (len(cmd) >= 3 and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable)
            and cmd[1:3] == ["-m", "ipykernel_launcher"])


class ForkingProvisioner(LocalProvisioner):
    """Kernels forked from the dashboards' template; the ordinary launch when that fails."""

    template_socket = Unicode("", config=True, help="The Unix socket of the kernel template.")
    forked = False

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        if self.template_socket and _forkable(cmd):
            env = kwargs.get("env") or dict(os.environ)
            cwd = str(kwargs.get("cwd") or os.getcwd())
            out, err = (kwargs.get(name) for name in ("stdout", "stderr"))
            try:
                self.process = ask_template(self.template_socket, cmd, env, cwd,
                                            out.fileno() if hasattr(out, "fileno") else sys.stdout.fileno(),
                                            err.fileno() if hasattr(err, "fileno") else sys.stderr.fileno())
            except (OSError, ValueError) as exc:
                self.log.warning("workbench: kernel started the ordinary way (template: %s)", exc)
            else:
                self.forked = True
                self.pid = self.pgid = self.process.pid  # the child called setsid()
                self.cwd = cwd
                return self.connection_info
        return await super().launch_kernel(cmd, **kwargs)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m workbench.dashboards.zygote SOCKET")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server stops the template with SIGTERM
    serve_template(Path(args[0]))


if __name__ == "__main__":  # run as the package's module, not as __main__: kernels import its state
    from workbench.dashboards import zygote as _module

    _module.main()
