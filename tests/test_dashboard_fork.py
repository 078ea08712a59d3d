"""Dashboard kernels forked from the kernel template (``workbench.dashboards.zygote``).

- The template imports what a dashboard kernel imports and loads the server's snapshot of the
  extract without starting a thread a fork would break (polars' compute pool, a tokio runtime);
  the guard that refuses to fork sees such a thread once polars has computed something.
- A kernel started through jupyter_client with the kernelspec the server writes is the template's
  child (its parent pid is the template's), runs the dashboard's polars work and computes the same
  figures as this process; interrupt, shutdown and the exit status work on a process that is not
  the manager's child. Without a template, the kernel starts the ordinary way.
- ``workbench dashboard`` serves its pages from forked kernels by default, and they show the same
  figures and chart as a server whose kernels are started as new processes (``--no-fork-kernels``).
- Ten kernels asked for at once, busy, shut down together, then ten more, each computing and
  answering: the template forks them one at a time, and nothing of one kernel reaches another.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from workbench import extract
from workbench.dashboards import server as dashboard
from workbench.dashboards import views, zygote

FIGURES = """
import json, os, sys
from workbench.dashboards import server, views, widgets, zygote
from workbench.present import charts
session = server.kernel_session()
page = views.page("overview")
board = widgets.Dashboard(session, page, link=True)
table = session.breakdown(session.default_view(page))
print(json.dumps({"ppid": os.getppid(), "pid": os.getpid(),
                  "imported": sorted({m.partition(".")[0] for m in sys.modules} - zygote.warmed),
                  "targets": sorted(__import__("comm").get_comm_manager().targets),
                  "renderer": type(charts.svg_renderer).__name__, "renderer_failed": charts.svg_renderer.failed,
                  "svg": charts.to_svg(server._WARM_SPEC),
                  "rows": table.frame.sort(table.frame.columns).to_dicts()}, default=str))
"""


@pytest.fixture
def snapshot_env(valid_extract, tmp_path) -> dict[str, str]:
    """The environment ``workbench dashboard`` gives its template and kernels, with a snapshot."""
    ex = extract.load(valid_extract)
    snapshot = tmp_path / "extract.pickle"
    snapshot.write_bytes(pickle.dumps(dataclasses.replace(ex, quarantine=ex.quarantine.clear())))
    server = dashboard.Server(valid_extract, fork_kernels=True)  # the environment is the same either way
    return server.environment(snapshot)


def _run(code: str, env: dict[str, str]) -> str:
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_template_loads_everything_without_a_thread_a_fork_would_break(snapshot_env):
    warmed = json.loads(_run(
        "import gc, json, os\nfrom workbench.dashboards import zygote, server\n"
        "fds = lambda: sorted(os.listdir('/proc/self/fd'))\nbefore = fds()\nzygote.warm()\nafter = fds()\n"
        "import zmq\nfrom ipykernel.kernelapp import IPKernelApp\n"
        "print(json.dumps([zygote.unsafe_threads(), server.kernel_extract.cache_info().currsize,"
        " sorted(__import__('sys').modules), [before, after],"
        " sum(isinstance(o, zmq.Context) for o in gc.get_objects()), IPKernelApp.initialized()]))", snapshot_env))
    unsafe, loaded, modules, (fds_before, fds_after), contexts, app = warmed
    assert unsafe == []
    # nothing a kernel could share with its siblings by mistake: no descriptor left open by warming up
    # (the child closes the template's own sockets), no zmq context (each kernel makes its own), no
    # kernel application yet (each child makes its own)
    assert fds_after == fds_before and contexts == 0 and app is False
    assert loaded == 1  # the extract is in the template, shared with every kernel it forks
    assert {"polars", "altair", "great_tables", "ipywidgets", "vl_convert", "ipykernel.kernelapp",
            "workbench.dashboards.widgets"} <= set(modules)
    after_work = json.loads(_run(
        "import json\nfrom workbench.dashboards import zygote\nzygote.warm()\nimport polars as pl\n"
        "pl.DataFrame({'a': list(range(200_000))}).group_by('a').len()\n"
        "print(json.dumps(zygote.unsafe_threads()))", snapshot_env))
    assert any(name.startswith("polars-") for name in after_work), after_work  # the guard sees the pool


@pytest.fixture
def template(snapshot_env, tmp_path):
    sock = tmp_path / "kernels.sock"
    proc = subprocess.Popen([sys.executable, "-m", "workbench.dashboards.zygote", str(sock)], env=snapshot_env,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.monotonic() + 120
    while not sock.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sock.exists(), proc.stderr.read() if proc.poll() is not None else "no socket"
    yield proc, zygote.write_kernelspec(tmp_path / "data", sock)
    proc.terminate()
    proc.wait(timeout=30)


def _manager(data_dir: Path) -> KernelManager:
    return KernelManager(kernel_name="python3",
                         kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(data_dir / "kernels")]))


def _execute(km: KernelManager, code: str, timeout: float = 120) -> tuple[str, dict]:
    client = km.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=timeout)
        out: list[str] = []

        def hook(msg):
            if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
                out.append(msg["content"]["text"])

        reply = client.execute_interactive(code, output_hook=hook, timeout=timeout)
        return "".join(out), reply["content"]
    finally:
        client.stop_channels()


def test_a_kernel_is_forked_by_the_template_and_computes_the_same_figures(template, snapshot_env, tmp_path):
    proc, data_dir = template
    km = _manager(data_dir)
    km.start_kernel(env=snapshot_env, cwd=str(tmp_path))
    try:
        assert km.provisioner.forked
        out, reply = _execute(km, FIGURES)
        assert reply["status"] == "ok", reply
        got = json.loads(out.strip().splitlines()[-1])
        assert got["ppid"] == proc.pid and got["pid"] == km.provisioner.pid
        assert got["imported"] == [], " ".join(got["imported"])  # building a page needed nothing the template had not imported
        # ipywidgets' comm targets are registered, as when it is imported in a running kernel
        assert {"jupyter.widget", "jupyter.widget.control"} <= set(got["targets"]), got["targets"]
        # its charts were drawn by the template's one renderer, to the bytes vl-convert draws here
        assert got["renderer"] == "Client" and not got["renderer_failed"]
        from workbench.present import charts

        assert charts.svg_renderer is None and got["svg"] == charts.to_svg(dashboard._WARM_SPEC)
        # the same figures as computed here, in a process that forked nothing
        session = views.Session(pickle.loads(Path(snapshot_env[dashboard.ENV_SNAPSHOT]).read_bytes()))
        table = session.breakdown(session.default_view(views.page("overview")))
        assert got["rows"] == json.loads(json.dumps(table.frame.sort(table.frame.columns).to_dicts(), default=str))
        assert got["rows"]
        # an interrupt reaches a process that is not the manager's child
        client = km.client()
        client.start_channels()
        msg_id = client.execute("import time\ntime.sleep(60)")
        time.sleep(1)
        km.interrupt_kernel()
        reply = client.get_shell_msg(timeout=30)
        client.stop_channels()
        assert reply["parent_header"]["msg_id"] == msg_id and reply["content"]["ename"] == "KeyboardInterrupt"
    finally:
        pid = km.provisioner.pid
        km.shutdown_kernel(now=False)
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split(")")[1][:3]


def test_a_killed_kernel_is_seen_gone_with_its_status(template, snapshot_env, tmp_path):
    _proc, data_dir = template
    km = _manager(data_dir)
    km.start_kernel(env=snapshot_env, cwd=str(tmp_path))
    process = km.provisioner.process
    assert isinstance(process, zygote.ForkedKernel) and process.poll() is None
    os.kill(process.pid, 9)
    assert process.wait(timeout=10) == -9
    km.shutdown_kernel(now=True)


def test_without_the_template_the_kernel_starts_the_ordinary_way(snapshot_env, tmp_path):
    data_dir = zygote.write_kernelspec(tmp_path / "data", tmp_path / "absent.sock")
    km = _manager(data_dir)
    km.start_kernel(env=snapshot_env, cwd=str(tmp_path))
    try:
        assert not km.provisioner.forked
        out, reply = _execute(km, "import os\nprint(os.getppid())")
        assert reply["status"] == "ok" and int(out.strip()) == os.getpid()
    finally:
        km.shutdown_kernel(now=True)


# --------------------------------------------------------------------------- served by `workbench dashboard`

def _processes() -> dict[int, tuple[int, str]]:
    """pid → (parent pid, command line) of every process."""
    out = {}
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                ppid = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
                out[int(proc.name)] = (ppid, (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except (OSError, IndexError):
                continue
    return out


@pytest.mark.slow
def test_a_served_page_comes_from_a_forked_kernel_and_shows_the_same_figures(tmp_path):
    from playwright.sync_api import sync_playwright
    from test_dashboard_browser import ARGS, CHROMIUM, Served

    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    seen = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for mode in ("default", "--no-fork-kernels"):  # forked by default
            served = Served(["--pool-size", "1", *([mode] if mode.startswith("--") else [])], tmp_path / f"{mode}.log")
            try:
                tab = browser.new_page()
                tab.goto(served.url("overview", "period=2025-Q2"))
                tab.wait_for_selector(".wb-chart-breakdown svg", timeout=120_000)
                tiles = {t.get_attribute("data-indicator"): t.locator(".wb-tile-value").inner_text()
                         for t in tab.locator(".wb-tile").all()}
                seen[mode] = (tiles, tab.locator(".wb-chart-breakdown .wb-svg").inner_html())
                procs = _processes()
                ours = {served.proc.pid}  # this server's processes only: the machine runs other kernels
                while grown := {pid for pid, (ppid, _) in procs.items() if ppid in ours} - ours:
                    ours |= grown
                templates = [pid for pid in ours
                             if procs[pid][0] == served.proc.pid and "workbench.dashboards.zygote" in procs[pid][1]]
                kernels = [pid for pid in ours if "ipykernel_launcher" in procs[pid][1] or procs[pid][0] in templates]
                if mode == "default":
                    assert len(templates) == 1 and kernels, "no kernel forked by the template"
                    assert all(procs[k][0] == templates[0] for k in kernels)  # none started the ordinary way
                else:
                    assert not templates and kernels
                tab.close()
            finally:
                served.stop()
        browser.close()
    assert seen["default"][0] and seen["default"] == seen["--no-fork-kernels"]


def test_without_the_renderer_a_kernel_draws_its_charts_itself(tmp_path):
    from workbench.dashboards import renderer

    client = renderer.Client(str(tmp_path / "absent.sock"))
    import vl_convert

    assert client(dashboard._WARM_SPEC, format_locale="fr-FR") == vl_convert.vegalite_to_svg(
        dashboard._WARM_SPEC, format_locale="fr-FR")
    assert client.failed


def test_the_renderer_draws_and_refuses_as_vl_convert_does(tmp_path):
    """The dashboards' renderer answers as the reports' drawing process does (one answer for both):
    the same SVG, and for a spec vl-convert refuses its own error type and message."""
    import multiprocessing

    import vl_convert

    from workbench.dashboards import renderer

    sock = tmp_path / "charts.sock"
    process = multiprocessing.get_context("spawn").Process(target=renderer.serve, args=(sock, os.getpid()))
    process.start()
    try:
        for _ in range(300):
            if sock.exists():
                break
            time.sleep(0.05)
        client = renderer.Client(str(sock))
        assert client(dashboard._WARM_SPEC, format_locale="fr-FR") == vl_convert.vegalite_to_svg(
            dashboard._WARM_SPEC, format_locale="fr-FR")
        bad = {"data": {"values": [{"x": 1}]}, "mark": "no-such-mark",
               "encoding": {"x": {"field": "x", "type": "quantitative"}}}
        with pytest.raises(Exception) as in_process:
            vl_convert.vegalite_to_svg(bad, format_locale="fr-FR")
        with pytest.raises(type(in_process.value)) as drawn:
            client(bad, format_locale="fr-FR")
        assert str(drawn.value) == str(in_process.value) and not client.failed
    finally:
        process.terminate()
        process.join(10)


# --------------------------------------------------------------------------- many kernels at once

BUSY = "import sys, threading\nprint('waiting', flush=True)\nthreading.Event().wait()"  # as a preheated page waits
ANSWER = """
import json, os
from workbench.dashboards import server, views
from workbench.present import charts
session = server.kernel_session()
table = session.breakdown(session.default_view(views.page("overview")))
print(json.dumps({"pid": os.getpid(), "rows": table.frame.height, "svg": charts.to_svg(server._WARM_SPEC)[:4]}))
"""


async def _kernels_at_once(data_dir: Path, env: dict[str, str], cwd: str, count: int) -> list:
    from jupyter_client.manager import AsyncKernelManager

    async def start():
        km = AsyncKernelManager(kernel_name="python3",
                                kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(data_dir / "kernels")]))
        await km.start_kernel(env=env, cwd=cwd)
        client = km.client()
        client.start_channels()
        await client.wait_for_ready(timeout=120)
        return km, client

    return await asyncio.gather(*(start() for _ in range(count)))


async def _output(client, code: str, until: str | None = None) -> tuple[str, dict | None]:
    """Run ``code``; its stdout and reply, or its stdout once ``until`` was printed (no reply then)."""
    msg_id = client.execute(code)
    out = ""
    while True:
        msg = await client.get_iopub_msg(timeout=120)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            out += msg["content"]["text"]
            if until is not None and until in out:
                return out, None
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            reply = await client.get_shell_msg(timeout=120)
            return out, reply["content"]


def test_ten_kernels_forked_at_once_each_compute_and_answer_and_leave(template, snapshot_env, tmp_path):
    """Ten kernels asked for at once, busy as a preheated page is, then shut down together as Voilà does
    (an interrupt, then a shutdown request); then ten more at once from the same template, each running
    the dashboard's polars work and a chart and answering. Every kernel is forked, every one answers,
    every one is gone once shut down."""
    _proc, data_dir = template
    count = 10

    async def scenario():
        first = await _kernels_at_once(data_dir, snapshot_env, str(tmp_path), count)
        assert all(km.provisioner.forked for km, _ in first)
        busy = await asyncio.gather(*(_output(client, BUSY, until="waiting") for _, client in first))
        assert [out for out, _ in busy] == ["waiting\n"] * count
        pids = [km.provisioner.pid for km, _ in first]
        for _, client in first:
            client.stop_channels()
        await asyncio.gather(*(km.shutdown_kernel(now=False) for km, _ in first))
        gone = [not Path(f"/proc/{pid}").exists() or Path(f"/proc/{pid}/stat").read_text().split(")")[1][1] == "Z"
                for pid in pids]
        second = await _kernels_at_once(data_dir, snapshot_env, str(tmp_path), count)
        try:
            assert all(km.provisioner.forked for km, _ in second)
            answers = await asyncio.gather(*(_output(client, ANSWER) for _, client in second))
        finally:
            for _, client in second:
                client.stop_channels()
            await asyncio.gather(*(km.shutdown_kernel(now=True) for km, _ in second))
        return gone, answers, [km.provisioner.pid for km, _ in second]

    gone, answers, pids = asyncio.run(scenario())
    assert gone == [True] * count
    assert [reply["status"] for _, reply in answers] == ["ok"] * count, [reply for _, reply in answers]
    got = [json.loads(out.strip().splitlines()[-1]) for out, _ in answers]
    assert sorted(g["pid"] for g in got) == sorted(pids)  # each answer from its own kernel
    assert {g["rows"] for g in got} != {0} and len({g["rows"] for g in got}) == 1  # the same figures in all
    assert {g["svg"] for g in got} == {"<svg"}


def test_kernels_are_forked_by_default_and_the_pool_refills_sooner_only_then(tmp_path):
    from workbench.cli.dashboard import dashboard_command

    server = dashboard.Server(tmp_path)
    assert server.fork_kernels
    fill = f"--VoilaKernelManager.fill_delay={dashboard.FORKED_FILL_DELAY}"
    assert fill in server.command(tmp_path)
    # the template did not start (or --no-fork-kernels): Voilà's own delay for kernels started as processes
    assert fill not in server.command(tmp_path, forked=False)
    assert fill not in dashboard.Server(tmp_path, fork_kernels=False).command(tmp_path)
    option = next(p for p in dashboard_command.params if p.name == "fork_kernels")
    assert option.default is True and option.secondary_opts == ["--no-fork-kernels"]  # the way out
