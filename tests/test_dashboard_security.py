"""The dashboard server as another local user, or a viewer, would try it.

A real ``workbench dashboard`` runs (as in ``test_dashboard_browser``). The routes tried
are the tornado handlers of the application ``workbench dashboard`` builds
(:class:`workbench.dashboards.gate.WorkbenchVoila`, same options and ``voila.json``),
not a hand-written list; kernel ids come from the process list, as an attacker's would (forked kernels,
whose command line is the template's, from Voilà's private folder of connection files).

- Without the token, only the login page and static assets answer; no websocket
  handshake succeeds (``/voila/query/<id>`` included, after a viewer's request put a
  query string in its cache) and no kernel can be shut down.
- Every response carries ``Referrer-Policy: no-referrer``, ``X-Frame-Options: DENY`` and a
  CSP with ``frame-ancestors 'none'``.
- A malformed ``comm_open`` makes the kernel log a traceback; nothing of it reaches the
  websocket.
- ``--max-viewers N``: page N+1 gets "too many viewers" (503) without a kernel; pages
  closed, their kernels end well under a minute later and a new page is served.
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
from test_dashboard_browser import ARGS, CHROMIUM, Served

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]

STATIC = {"TemplateStaticFileHandler", "MultiStaticFileHandler", "FileFindHandler", "ThemesHandler"}
LOGIN = {"VoilaLoginHandler", "LogoutHandler"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def fetch(url: str, method: str = "GET") -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    try:
        with OPENER.open(request, timeout=120) as response:
            return response.status, dict(response.headers), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode("utf-8", "replace")


def kernel_ids(served: Served) -> set[str]:
    """The live kernels of this server: from the process list (``kernel-<uuid>.json``) as anyone can
    read it, for kernels started the ordinary way; a kernel forked from the kernel template has the
    template's command line, so its id comes from Voilà's folder of connection files (private to
    the server's user; a file is removed when its kernel ends)."""
    parent, cmdline = {}, {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parent[int(proc.name)] = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline[int(proc.name)] = (proc / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue

    def ours(pid: int) -> bool:
        while pid > 1:
            if pid == served.proc.pid:
                return True
            pid = parent.get(pid, 0)
        return False

    listed = {m.group(1) for pid, line in cmdline.items()
              if (m := re.search(r"kernel-([0-9a-f-]{36})\.json", line)) and ours(pid)}
    folder = re.search(r"Storing connection files in (\S+?)\.?$", served.log.read_text(), re.M)
    files = Path(folder.group(1)).glob("kernel-*.json") if folder else ()
    return listed | {m.group(1) for f in files if (m := re.fullmatch(r"kernel-([0-9a-f-]{36})\.json", f.name))}


def routes(served: Served) -> list[tuple[str, str]]:
    """(URL pattern, handler class name) of the app ``workbench dashboard`` runs."""
    from workbench.dashboards import gate, server

    config = Path(tempfile.mkdtemp())
    (config / "voila.json").write_text(json.dumps({"Voila": {"token": "x"}}))
    app = gate.WorkbenchVoila()
    app.initialize(server.Server(served.extract, port=1, pool_size=1).command(config)[3:])
    app.connection_dir = str(config)
    app.init_settings()
    specs = [(spec[0], spec[1].__name__) for spec in app.init_handlers() if isinstance(spec, tuple)]
    pending = [task for pool in app.kernel_manager._pools.values() for task in pool]  # preheating, not run
    for task in pending:
        task.cancel()
    if pending:
        loop = pending[0].get_loop()
        loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    return specs


def sample(pattern: str, kernel: str) -> str:
    from jupyter_server.base.handlers import path_regex

    path = pattern.replace(path_regex, "/overview.ipynb")
    path = re.sub(r"\(\?P<kernel_id>[^)]*\)", kernel, path)
    return path.replace("(.*)", "overview.ipynb")


async def handshake(url: str, headers: dict | None = None):
    import websockets

    try:
        async with websockets.connect(url, open_timeout=10, additional_headers=headers) as ws:
            try:
                return await asyncio.wait_for(ws.recv(), 2)
            except (asyncio.TimeoutError, websockets.ConnectionClosed):
                return "open"
    except websockets.InvalidStatus as exc:
        return exc.response.status_code


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    server = Served(["--pool-size", "1"], tmp_path_factory.mktemp("voila") / "voila.log")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def probed(served):
    """Every route tried without the token, after a viewer opened a page with a query string."""
    status, _, body = fetch(served.url("overview", "period=2025-Q3&site=secret-site"))
    assert status == 200 and "wb-" in body or status == 200
    kernels = kernel_ids(served)
    assert kernels, "no kernel found"
    results = []
    for pattern, handler in routes(served):
        for kernel in sorted(kernels)[:3] if "kernel_id" in pattern else [str(uuid.uuid4())]:
            path = sample(pattern, kernel)
            url = served.base + path
            status, headers, body = fetch(url)
            ws = asyncio.run(handshake("ws" + url[4:]))
            results.append((pattern, handler, path, status, headers, body, ws))
    return kernels, results


def test_without_the_token_only_login_and_static_answer(served, probed):
    kernels, results = probed
    assert {r[1] for r in results} >= {"KeyedRequestInfoHandler", "VoilaKernelWebsocketHandler", "KernelHandler",
                                        "CappedVoilaHandler", "VoilaContentsHandler", "TornadoVoilaTreeHandler"}
    for pattern, handler, path, status, headers, body, ws in results:
        assert ws != "open" and not isinstance(ws, str), f"{path} ({handler}): websocket opened: {ws!r}"
        if handler in STATIC or handler in LOGIN:
            continue
        assert status in (302, 401, 403, 404, 405), f"{path} ({handler}) answered {status} without the token"
        if status == 302:
            assert headers["Location"].startswith("/login"), (path, headers["Location"])
        assert "secret-site" not in body and served.token not in body
        assert not any(k in body for k in kernels), f"{path} ({handler}) shows a kernel id"


def test_no_kernel_is_shut_down_without_the_token(served):
    before = kernel_ids(served)
    for kernel in before:
        status, _, _ = fetch(f"{served.base}/voila/api/shutdown/{kernel}", method="POST")
        assert status in (302, 403), status
        status, _, _ = fetch(f"{served.base}/api/kernels/{kernel}", method="DELETE")
        assert status in (302, 403, 405), status
    assert before <= kernel_ids(served)


def test_request_socket_needs_the_servers_key(served):
    status, _, _ = fetch(served.url("detention", "period=2025-Q3"))
    assert status == 200
    for kernel in kernel_ids(served):
        for headers in (None, {"X-Workbench-Query-Key": "guess"}, {"Authorization": f"token {served.token}"}):
            assert asyncio.run(handshake(f"ws{served.base[4:]}/voila/query/{kernel}", headers)) == 403


def test_security_headers_on_every_response(served, probed):
    _, results = probed
    extra = [fetch(served.url("overview").split("/voila/")[0] + f"/?token={served.token}"),
             fetch(f"{served.base}/login"), fetch(f"{served.base}/no-such-page?token={served.token}")]
    responses = [(r[2], r[3], r[4]) for r in results] + [(f"extra {i}", *r[:2]) for i, r in enumerate(extra)]
    missing = []
    for path, status, headers in responses:
        csp = headers.get("Content-Security-Policy", "")
        if not (headers.get("Referrer-Policy") == "no-referrer" and headers.get("X-Frame-Options") == "DENY"
                and "frame-ancestors 'none'" in csp):
            missing.append((path, status))
        assert "http:" not in csp and "https:" not in csp and "*" not in csp
    assert not missing, f"responses without the security headers: {missing}"


def test_kernel_stderr_never_reaches_the_websocket(served):
    status, _, body = fetch(served.url("case_management"))  # returns once the page is built: its kernel idles
    assert status == 200
    kernel = re.search(r'"kernelId": "([0-9a-f-]{36})"', body).group(1)
    url = f"ws{served.base[4:]}/api/kernels/{kernel}/channels?token={served.token}"

    async def malformed_comm_open() -> list[dict]:
        import websockets

        received = []
        async with websockets.connect(url, open_timeout=10) as ws:
            header = {"msg_id": uuid.uuid4().hex, "msg_type": "comm_open", "session": uuid.uuid4().hex,
                      "username": "viewer", "version": "5.3", "date": "2026-01-01T00:00:00Z"}
            for content in ({}, {"comm_id": "x", "target_name": "jupyter.widget", "data": {"state": None}},
                            {"comm_id": "y", "target_name": "no.such.target", "data": {}}):
                await ws.send(json.dumps({"header": {**header, "msg_id": uuid.uuid4().hex}, "parent_header": {},
                                          "metadata": {}, "content": content, "channel": "shell",
                                          "buffers": []}))
            deadline = time.monotonic() + 6
            while time.monotonic() < deadline:
                try:
                    message = await asyncio.wait_for(ws.recv(), 1)
                except asyncio.TimeoutError:
                    continue
                if isinstance(message, str):
                    received.append(json.loads(message))
        return received

    received = asyncio.run(malformed_comm_open())
    for message in received:
        assert not (message["msg_type"] == "stream" and message["content"].get("name") == "stderr"), message
        assert message["msg_type"] != "error", message
        assert "Traceback" not in json.dumps(message) and "/site-packages/" not in json.dumps(message)
    time.sleep(1)
    assert "comm" in served.log.read_text().lower()  # the kernel did complain: in the server's log


# --------------------------------------------------------------------------- the cap on viewers

def test_too_many_viewers_then_release_after_close(tmp_path):
    from playwright.sync_api import sync_playwright

    served = Served(["--pool-size", "0", "--max-viewers", "2"], tmp_path / "voila.log")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            context = browser.new_context()
            for page in ("overview", "detention"):
                tab = context.new_page()
                tab.goto(served.url(page))
                tab.wait_for_selector(".wb-tile", timeout=120_000)
            assert len(kernel_ids(served)) == 2
            status, headers, body = fetch(served.url("case_management"))
            assert status == 503 and headers["Retry-After"] == "60"
            assert "Too many viewers" in body and "try again in a minute" in body.lower()
            assert headers.get("X-Frame-Options") == "DENY"
            assert len(kernel_ids(served)) == 2  # the refused page started no kernel
            tab.wait_for_timeout(25_000)  # open pages keep their kernels, idle or not
            assert len(kernel_ids(served)) == 2
            closed = time.monotonic()
            context.close()
            browser.close()
        while kernel_ids(served) and time.monotonic() - closed < 60:
            time.sleep(1)
        released = time.monotonic() - closed
        assert not kernel_ids(served), "kernels still running a minute after their pages closed"
        print(f"kernels released {released:.0f} s after their pages closed")
        assert released < 45
        status, _, body = fetch(served.url("case_management"))
        assert status == 200 and "Too many viewers" not in body
        # a page closed soon after it showed: its kernel goes once its websocket is closed for
        # RELEASE_AFTER seconds, before the idle culler (20 s idle) would take it
        from workbench.dashboards.gate import RELEASE_AFTER

        before = kernel_ids(served)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            tab = browser.new_page()
            tab.goto(served.url("detention"))
            tab.wait_for_selector(".wb-tile", timeout=120_000)
            (page_kernel,) = kernel_ids(served) - before
            closed = time.monotonic()
            browser.close()
        while page_kernel in kernel_ids(served) and time.monotonic() - closed < 60:
            time.sleep(0.5)
        released = time.monotonic() - closed
        print(f"a page's kernel released {released:.1f} s after the page closed")
        assert page_kernel not in kernel_ids(served) and released < RELEASE_AFTER + 7  # the culler: 20 s idle
    finally:
        served.stop()
