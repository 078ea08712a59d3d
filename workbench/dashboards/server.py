"""Serving the dashboards with Voilà: the server side and the kernel side.

Server side, :func:`serve` (``workbench dashboard``) starts Voilà on 127.0.0.1 on the
notebooks of ``notebooks/dashboards/`` with

- a token (``secrets``), written to a private config file rather than the command line
  (other users of the machine could read it in the process list), and printed in the URLs;
- the committed ``voila.json`` (template, sources stripped, no tracebacks, no template or
  theme override from the URL, no file served from the notebooks' folder, nbdime's
  extension left out, preheated kernels, idle kernels culled);
- our Voilà template (``workbench/templates/voila/templates/workbench``): Voilà's "lab"
  template without its links to a CDN, so the page needs nothing from the internet;
- the extract, audience and language fixed for every kernel through environment
  variables: a page's URL chooses filters, never the data.

Kernel side, a dashboard notebook calls :func:`show`, which loads the extract once per
kernel, waits for the page request when the kernel was preheated, reads the filters of
the URL's query string (:func:`workbench.dashboards.views.from_query`) and returns the
:class:`~workbench.dashboards.widgets.Dashboard`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import pickle
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from workbench import resources
from workbench.exceptions import ParameterError, WorkbenchError
from workbench.present.drawing import WARM_SPEC, draw_here

#: Seconds before Voilà preheats the next kernel once a page took one (voila.json says 5, for kernels
#: started the ordinary way): a burst of viewers waits for it, which on two cores beats starting every
#: page's kernel at once (ten viewers: 3.4 s median with forked kernels; 11.5 s with no delay).
FORKED_FILL_DELAY = 1
ENV_EXTRACT = "WORKBENCH_DASHBOARD_EXTRACT"
ENV_AUDIENCE = "WORKBENCH_DASHBOARD_AUDIENCE"
ENV_THRESHOLD = "WORKBENCH_DASHBOARD_THRESHOLD"
ENV_LANG = "WORKBENCH_DASHBOARD_LANG"
ENV_SNAPSHOT = "WORKBENCH_DASHBOARD_SNAPSHOT"
#: The validation cache entry the snapshot was read from: kernels read and keep figures beside it
#: (workbench.indicators.stored), so a question one viewer's kernel answered is not computed again.
ENV_ENTRY = "WORKBENCH_DASHBOARD_CACHE_ENTRY"
ENV_QUERY_KEY = "WORKBENCH_DASHBOARD_QUERY_KEY"  # the key of /voila/query, see workbench.dashboards.gate
KEY_HEADER = "X-Workbench-Query-Key"  # the header a preheated kernel sends that key in
DEFAULT_MAX_VIEWERS = 10
HOST = "127.0.0.1"
DEFAULT_PORT = 8866
PAGES = ("overview", "detention", "case_management")

def notebooks_dir() -> Path:
    return resources.packaged("notebooks", "dashboards")


def config_file() -> Path:
    return resources.packaged("voila.json")


def template_root() -> Path:
    """A Jupyter data directory holding ``voila/templates/workbench``."""
    return resources.packaged("templates")


def new_token() -> str:
    return secrets.token_urlsafe(32)


def free_port(host: str = HOST) -> int:
    """A TCP port free on ``host`` right now (for tests and benchmarks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Server:
    """What ``workbench dashboard`` starts: one Voilà process for one extract and audience."""

    extract: Path
    port: int = DEFAULT_PORT
    audience: str = "internal"
    threshold: int | None = None
    lang: str = "fr"
    pool_size: int | None = None  # None: voila.json's (preheated kernels); 0: no preheating
    resources: Path | None = None  # an organisation's folder: notebooks/dashboards/ and templates/ win there
    max_viewers: int = DEFAULT_MAX_VIEWERS  # pages served at once (a kernel each)
    # kernels forked from a warm template (workbench.dashboards.zygote); False: each kernel a new process.
    # Ordinary kernels anyway when the template cannot start or refuses (docs/dashboards.md)
    fork_kernels: bool = True
    token: str = field(default_factory=new_token, repr=False)
    query_key: str = field(default_factory=new_token, repr=False)  # preheated kernels ↔ server only

    def url(self, page: str | None = None, query: str = "") -> str:
        """The URL of a dashboard (or of the list of dashboards), with the token."""
        path = f"/voila/render/{page}.ipynb" if page else "/"
        extra = f"&{query}" if query else ""
        return f"http://{HOST}:{self.port}{path}?token={self.token}{extra}"

    def command(self, config_dir: Path, forked: bool | None = None) -> list[str]:
        """Voilà's command line; ``forked``: whether the kernel template runs (default: ``fork_kernels``)."""
        own = self.resources / "notebooks" / "dashboards" if self.resources else None
        pages = own if own is not None and own.is_dir() else notebooks_dir()
        cmd = [sys.executable, "-m", "workbench.dashboards.gate", str(pages), "--no-browser", f"--port={self.port}",
               "--Voila.port_retries=0",  # the port printed is the port served, or Voilà stops
               f"--Voila.ip={HOST}", f"--Voila.config_file_paths={config_dir}", f"--Voila.config_file_paths={resources.packaged()}"]
        if self.pool_size is not None:
            if self.pool_size <= 0:
                cmd.append("--VoilaConfiguration.preheat_kernel=False")
            else:
                cmd += ["--VoilaConfiguration.preheat_kernel=True", f"--pool_size={self.pool_size}"]
        cmd.append(f"--WorkbenchVoila.max_viewers={self.max_viewers}")
        if self.fork_kernels if forked is None else forked:  # a kernel in ms: the pool refilled after 1 s, not 5
            cmd.append(f"--VoilaKernelManager.fill_delay={FORKED_FILL_DELAY}")
        return cmd

    def environment(self, snapshot: Path | None = None, data_dir: Path | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env[ENV_EXTRACT] = str(Path(self.extract).resolve())
        env.pop(ENV_ENTRY, None)
        if snapshot is not None:
            env[ENV_SNAPSHOT] = str(snapshot)
            entry = snapshot.with_name(snapshot.name + ".entry")
            if entry.exists():
                env[ENV_ENTRY] = entry.read_text(encoding="utf-8")
        else:
            env.pop(ENV_SNAPSHOT, None)
        env[ENV_AUDIENCE] = self.audience
        env[ENV_QUERY_KEY] = self.query_key  # the environment of our processes is private to this user
        env[ENV_LANG] = self.lang
        if self.threshold is not None:
            env[ENV_THRESHOLD] = str(self.threshold)
        else:
            env.pop(ENV_THRESHOLD, None)
        own = [str(self.resources / "templates")] if self.resources and (self.resources / "templates").is_dir() else []
        kernels = [str(data_dir)] if data_dir is not None else []  # its python3 kernel: forked from the template
        env["JUPYTER_PATH"] = os.pathsep.join([*kernels, *own, str(template_root()),
                                               *filter(None, [env.get("JUPYTER_PATH")])])
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env


def check_setup() -> None:
    """Refuse to start when the dashboards' notebooks or voila.json are not where expected."""
    if not notebooks_dir().is_dir() or not config_file().is_file():
        raise WorkbenchError(f"The dashboards are served from a source checkout of workbench: "
                             f"{notebooks_dir()} or {config_file()} is missing.")


def _wait_ready(proc: subprocess.Popen, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise WorkbenchError(f"Voilà stopped at start (exit code {proc.returncode}); see the messages above.")
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise WorkbenchError(f"Voilà did not answer on {HOST}:{port} within {timeout:.0f} s.")


def _private_file(path: Path, data: bytes) -> Path:
    path.touch(mode=0o600)
    path.write_bytes(data)
    return path


@contextlib.contextmanager
def running(server: Server, loaded=None, stdout=None, stderr=None, timeout: float = 60
            ) -> Iterator[subprocess.Popen]:
    """Start Voilà for ``server``, wait until it listens, and stop it on leaving.

    ``loaded``, the extract as loaded and checked at start, is handed to the kernels as a
    snapshot (a pickle in the server's private folder): every kernel shows exactly those
    rows, even if the files change later, and starts without validating them again.
    """
    check_setup()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as tornado binds
        try:
            sock.bind((HOST, server.port))
        except OSError:
            raise WorkbenchError(f"Port {server.port} of {HOST} is in use: choose another with --port "
                                 "(0 takes any free port).") from None
    config_dir = Path(tempfile.mkdtemp(prefix="workbench-voila-"))  # 0700: token and snapshot stay private
    try:
        _private_file(config_dir / "voila.json", json.dumps({"Voila": {"token": server.token}}).encode())
        snapshot = None
        if loaded is not None:
            # Pages never show quarantined rows: their raw values stay out of the kernels.
            kept = dataclasses.replace(loaded, quarantine=loaded.quarantine.clear())
            snapshot = _private_file(config_dir / "extract.pickle",
                                     pickle.dumps(kept, protocol=pickle.HIGHEST_PROTOCOL))
            from workbench.extract import cache as extract_cache

            entry = extract_cache.entry_of(loaded)
            if entry is not None:
                _private_file(config_dir / "extract.pickle.entry", entry.name.encode())
        with contextlib.ExitStack() as stack:
            data_dir = None
            if server.fork_kernels:
                data_dir = stack.enter_context(_template(server, config_dir, snapshot, stdout, stderr, timeout))
            proc = stack.enter_context(_stopping(subprocess.Popen(
                server.command(config_dir, forked=data_dir is not None), env=server.environment(snapshot, data_dir),
                stdout=stdout, stderr=stderr, cwd=str(notebooks_dir()))))
            _wait_ready(proc, server.port, timeout)
            yield proc
    finally:
        shutil.rmtree(config_dir, ignore_errors=True)


@contextlib.contextmanager
def _stopping(proc: subprocess.Popen) -> Iterator[subprocess.Popen]:
    """``proc``, terminated (killed after 15 s) on leaving."""
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@contextlib.contextmanager
def _template(server: Server, config_dir: Path, snapshot: Path | None, stdout, stderr,
              timeout: float) -> Iterator[Path | None]:
    """The kernel template (:mod:`workbench.dashboards.zygote`) and a Jupyter data folder whose
    ``python3`` kernel is forked from it; ``None`` (kernels start the ordinary way) if it fails."""
    from workbench.dashboards import zygote

    sock = config_dir / "kernels.sock"
    env = server.environment(snapshot)
    proc = subprocess.Popen([sys.executable, "-m", "workbench.dashboards.zygote", str(sock)], env=env,
                            stdout=stdout, stderr=stderr, cwd=str(notebooks_dir()), start_new_session=True)
    with _stopping(proc):
        deadline = time.monotonic() + timeout
        while not sock.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if not sock.exists():
            print(f"workbench: the kernel template did not start (exit code {proc.poll()}); kernels start "
                  "the ordinary way.", file=sys.stderr, flush=True)
            yield None
            return
        yield zygote.write_kernelspec(config_dir / "data", sock)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def serve(server: Server, loaded=None, echo=print) -> int:
    """Run the dashboards until interrupted (Ctrl+C or SIGTERM); print their URLs once ready.

    Both signals stop Voilà and its kernels before returning (SIGINT is handled even when
    the shell started us with it ignored, as background jobs are).
    """
    previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with running(server, loaded) as proc:
            echo(f"Dashboards for {server.extract} (audience: {server.audience}"
                 f"{f', k = {server.threshold}' if server.threshold else ''}), on this machine only:")
            for page in PAGES:
                echo(f"  {page:16} {server.url(page)}")
            echo(f"  {'(all)':16} {server.url()}")
            echo("Filters can be set in the address, e.g. &period=2025-Q3&site=sfax. Press Ctrl+C to stop.")
            return proc.wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --------------------------------------------------------------------------- kernel side

_WARM_SPEC = WARM_SPEC  # the chart drawn to start vl-convert (tests draw it too)


def _warm_vega() -> None:
    """Start vl-convert's JavaScript engine and fonts (about 2 s) in a thread while the extract loads
    (vl-convert holds Python's lock while it draws: the loading's polars work goes on meanwhile)."""
    def warm():
        with contextlib.suppress(Exception):
            draw_here(WARM_SPEC)

    threading.Thread(target=warm, daemon=True).start()


@cache
def kernel_extract():
    """The extract fixed by ``workbench dashboard``: its snapshot, or else the files, loaded once.

    The kernel template loads the snapshot before forking (no polars work: unpickling starts no
    thread), so forked kernels share it."""
    from workbench import extract

    path = os.environ.get(ENV_EXTRACT)
    if not path:
        raise ParameterError("No extract is set for this dashboard: start it with `workbench dashboard`.")
    snapshot = os.environ.get(ENV_SNAPSHOT)
    if snapshot:
        with open(snapshot, "rb") as f:  # written by this server's own process, in its private folder
            kept = pickle.load(f)
        if os.environ.get(ENV_ENTRY):
            from workbench.extract import cache as extract_cache

            extract_cache.remember(kept, os.environ[ENV_ENTRY])
        return kept
    return extract.load(path)


@cache
def kernel_session():
    """The session of this kernel: the extract fixed by ``workbench dashboard``, loaded once."""
    from workbench.dashboards import views

    if not os.environ.get(ENV_EXTRACT):
        raise ParameterError("No extract is set for this dashboard: start it with `workbench dashboard`.")
    from workbench.present import charts

    threshold = os.environ.get(ENV_THRESHOLD)
    if charts.svg_renderer is None:  # else the kernel template's renderer draws (workbench.dashboards.zygote)
        _warm_vega()
    ex = kernel_extract()
    return views.Session(ex, audience=os.environ.get(ENV_AUDIENCE, "internal"),
                         threshold=int(threshold) if threshold else None,
                         lang=os.environ.get(ENV_LANG, "fr"))


def _preheated() -> bool:
    return os.environ.get("VOILA_PREHEAT", "False") == "True"


def _wait_for_request(timeout: float = 5) -> None:
    """Wait for the page request of this preheated kernel, as Voilà's ``wait_for_request``,
    through the server's keyed socket (see :mod:`workbench.dashboards.gate`)."""
    import asyncio

    import websockets

    url = (f"ws://{os.environ.get('VOILA_APP_IP', HOST)}:{os.environ.get('VOILA_APP_PORT', DEFAULT_PORT)}"
           f"{os.environ.get('VOILA_SERVER_URL', '/')}voila/query/{os.environ.get('VOILA_KERNEL_ID', '')}")
    received: list[str] = []

    async def ask() -> None:
        async with websockets.connect(url, open_timeout=timeout,
                                      additional_headers={KEY_HEADER: os.environ.get(ENV_QUERY_KEY, "")}
                                      ) as socket_:
            received.append(await socket_.recv())

    def run() -> None:  # the kernel's own event loop is busy running this cell
        try:
            asyncio.run(ask())
        except Exception as exc:  # the page then shows the default view; the server's log says why
            print(f"workbench: no request received ({type(exc).__name__})", file=sys.__stderr__, flush=True)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if received:
        os.environ.update(json.loads(received[0]))


def show(name: str):
    """The dashboard ``name`` as the page's URL asks for it (a dashboard notebook's one call).

    In a preheated kernel the default view is computed and drawn before anyone asks for
    the page; the URL's filters are applied when the request arrives.
    """
    import html

    import ipywidgets

    from workbench.dashboards import views

    from workbench.dashboards import widgets

    try:
        page = views.page(name)
        session = kernel_session()
        if _preheated():
            board = widgets.Dashboard(session, page, link=True)
            if session.filters_allowed:
                session.prepare()
            print(f"workbench: {name} preheated, waiting for a request", file=sys.__stderr__, flush=True)
            _wait_for_request()
            view, notices = views.from_query(os.environ.get("QUERY_STRING", ""), page, session)
            board.set_view(view, notices)
            return board
        view, notices = views.from_query(os.environ.get("QUERY_STRING", ""), page, session)
        return widgets.Dashboard(session, page, view, notices, link=True)
    except WorkbenchError as exc:
        return ipywidgets.HTML(f"<div class='wb-error'>{html.escape(str(exc))}</div>")
    except Exception:  # the server's log gets the traceback; the viewer a sentence
        import logging

        logging.getLogger(__name__).exception("dashboard %s could not be built", name)
        return ipywidgets.HTML("<div class='wb-error'>This dashboard could not be built: the server's log "
                               "says why. / Ce tableau de bord n'a pas pu être construit : voir le journal du "
                               "serveur.</div>")


__all__ = ["PAGES", "Server", "free_port", "kernel_session", "new_token", "running", "serve", "show"]
