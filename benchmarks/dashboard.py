"""Dashboard speed in Chromium: first render (cold and preheated) and filter updates.

    python benchmarks/dashboard.py                    # default demo (3,000 persons) and 1M contacts
    python benchmarks/dashboard.py --sizes 3000 --repeat 5

For each size, a demo extract is generated once (cached under benchmarks/data/), then
``workbench dashboard`` is started twice on a free port: with ``--pool-size 0`` (every
page load starts a kernel: *cold*) and with ``--pool-size 1`` (a kernel has run the page
before it is asked for: *preheated*). Chromium (Debian's, through playwright) opens the
overview and the time from the start of navigation to the key figures and the chart being
on screen is read in the page (a MutationObserver, ``performance.now()``). Then, on a
page from a preheated kernel (as served by default), a site is chosen in the filter (none ticked, then that site's box) and the time from the select's change event
to the chart being redrawn (*update*) and to the whole page being updated (*all*) is read
the same way. Medians of ``--repeat`` runs are printed, with each run.

Targets (issue): cold under 5 s, preheated under 1.5 s, update under 250 ms at 1M contacts.

``--viewers 10``: the server as served by default (voila.json's preheated pool); ten viewers
open the overview at once (ten browser contexts, navigations started together) and each one's
wait for its first figures is read; the memory each extra viewer costs is the drop of the
machine's available memory (``MemAvailable``, browser pages included) divided by the viewers;
then the pages are closed and the time until their kernels are gone is read (target, issue 17:
median first figures <= 5 s on 2 cores, <= 100 MB a viewer, kernels released within a minute).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKBENCH = str(Path(sys.executable).with_name("workbench"))
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
PERSONS_FOR_1M_CONTACTS = 340_000  # the demo draws about 2.95 contacts a person
SITES = ("sfax", "ariana", "la_marsa", "tunis_centre", "centre_jour")

OBSERVER = """
(() => {
  window.__wb = {rendered: null, changed: null, chart: null, all: null};
  const seen = () => {
    const chart = document.querySelector('.wb-chart-breakdown .wb-svg');
    const tiles = document.querySelector('.wb-tile');
    if (window.__wb.rendered === null && chart && tiles) window.__wb.rendered = performance.now();
  };
  new MutationObserver(seen).observe(document, {subtree: true, childList: true, characterData: true});
  document.addEventListener('change', e => {
    if (e.target.closest && e.target.closest('.wb-filter-sites')) {
      window.__wb.changed = performance.now(); window.__wb.chart = null; window.__wb.all = null;
      const chart = document.querySelector('.wb-chart-breakdown');
      const link = document.querySelector('.wb-link');
      new MutationObserver((m, o) => { window.__wb.chart = performance.now(); o.disconnect(); })
        .observe(chart, {subtree: true, childList: true, characterData: true});
      new MutationObserver((m, o) => { window.__wb.all = performance.now(); o.disconnect(); })
        .observe(link, {subtree: true, childList: true, characterData: true, attributes: true});
    }
  }, true);
})();
"""


def extract_for(persons: int) -> Path:
    from workbench.extract import demo

    folder = HERE / "data" / f"dashboard-{persons}"
    if not (folder / "persons.parquet").exists():
        demo.write(folder, persons=persons)
    return folder


class Server:
    def __init__(self, extract: Path, pool: int, log: Path, fork: bool | None = None) -> None:
        """``fork``: None, kernels as ``workbench dashboard`` starts them by default (forked)."""
        self.log = log
        mode = [] if fork is None else ["--fork-kernels" if fork else "--no-fork-kernels"]
        self.proc = subprocess.Popen([WORKBENCH, "dashboard", "--extract", str(extract), "--port", "0",
                                      "--pool-size", str(pool), *mode],
                                     stdout=subprocess.PIPE,
                                     stderr=log.open("w"), text=True, start_new_session=True)
        self.url = None
        for line in self.proc.stdout:
            if m := re.match(r"\s+overview\s+(\S+)", line):
                self.url = m.group(1)
            if "Press Ctrl+C" in line:
                break
        if self.url is None:
            raise RuntimeError(log.read_text()[-2000:])

    def ready_count(self) -> int:
        return self.log.read_text().count("workbench: overview preheated, waiting for a request")

    def wait_preheated(self, count: int, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while self.ready_count() < count:
            if time.monotonic() > deadline:
                raise RuntimeError("the preheated kernel did not get ready")
            time.sleep(0.2)

    def stop(self) -> None:
        import signal

        self.proc.send_signal(signal.SIGTERM)  # workbench stops Voilà and its kernels
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def first_render(browser, url: str) -> float:
    context = browser.new_context(viewport={"width": 1280, "height": 1800})
    page = context.new_page()
    page.add_init_script(OBSERVER)
    page.goto(url)
    page.wait_for_function("window.__wb && window.__wb.rendered !== null", timeout=300_000)
    seconds = page.evaluate("window.__wb.rendered") / 1000
    context.close()
    return seconds


def updates(browser, url: str, settled=lambda: None) -> list[tuple[float, float]]:
    context = browser.new_context(viewport={"width": 1280, "height": 1800})
    page = context.new_page()
    page.add_init_script(OBSERVER)
    page.goto(url)
    page.wait_for_function("window.__wb && window.__wb.rendered !== null", timeout=300_000)
    settled()  # the server has refilled its pool: no kernel starting beside the measurement
    page.wait_for_timeout(1000)
    out = []
    from workbench.extract import demo

    sites = page.locator(".wb-filter-sites")  # a chooser of ticked boxes: none, then the one site
    names = {**demo.LEGAL_AID_SITES, **demo.CHILD_PROTECTION_SITES}
    for site in SITES:
        sites.get_by_role("button", name="Aucun").click()
        page.wait_for_timeout(1000)
        sites.get_by_label(names[site]).click()
        page.wait_for_function("window.__wb.chart !== null && window.__wb.all !== null", timeout=60_000)
        wb = page.evaluate("window.__wb")
        out.append(((wb["chart"] - wb["changed"]) / 1000, (wb["all"] - wb["changed"]) / 1000))
        page.wait_for_timeout(300)
    context.close()
    return out


def measure(persons: int, repeat: int, browser, logs: Path, fork: bool | None = None) -> dict:
    extract = extract_for(persons)
    import polars as pl

    contacts = pl.scan_parquet(extract / "contacts.parquet").select(pl.len()).collect().item()
    result: dict = {"persons": persons, "contacts": contacts, "load_before": os.getloadavg()[0]}
    server = Server(extract, 0, logs / f"cold-{persons}.log", fork)
    try:
        result["cold"] = [first_render(browser, server.url) for _ in range(repeat)]
    finally:
        server.stop()
    server = Server(extract, 1, logs / f"preheated-{persons}.log", fork)
    try:
        runs = []
        for i in range(repeat):
            server.wait_preheated(i + 1)
            time.sleep(0.5)
            runs.append(first_render(browser, server.url))
        result["preheated"] = runs
        server.wait_preheated(repeat + 1)
        result["update_chart"], result["update_all"] = zip(*updates(
            browser, server.url, settled=lambda: server.wait_preheated(repeat + 2)))
    finally:
        server.stop()
    result["load_after"] = os.getloadavg()[0]
    return result


def _available() -> int:
    with open("/proc/meminfo") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))


def _is_kernel(p) -> bool:
    """A kernel started the ordinary way, or forked by the kernel template (a template's child)."""
    import psutil

    try:
        if p.status() == psutil.STATUS_ZOMBIE:
            return False
        line = " ".join(p.cmdline())
        return "ipykernel_launcher" in line or ("workbench.dashboards.zygote" in line
                                                 and "workbench.dashboards.zygote" in " ".join(p.parent().cmdline()))
    except (psutil.Error, AttributeError):  # gone, or being reaped: not a live kernel
        return False


def _kernels(server: Server) -> int:
    import psutil

    return sum(_is_kernel(p) for p in psutil.Process(server.proc.pid).children(recursive=True))


def _pss(processes) -> int:
    """Proportional set size (bytes) of ``processes``: shared pages counted once over all of them."""
    total = 0
    for p in processes:
        try:
            with open(f"/proc/{p.pid}/smaps_rollup") as f:
                total += next(int(line.split()[1]) * 1024 for line in f if line.startswith("Pss:"))
        except (OSError, StopIteration):
            continue
    return total


def _cpu(processes) -> float:
    """CPU seconds used by ``processes`` and their ended children."""
    total = 0.0
    for p in processes:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except Exception:  # gone
            continue
    return total


def _browser_processes():
    import psutil

    return [p for p in psutil.Process().children(recursive=True) if "chrom" in p.name()]


def _server_processes(server: Server):
    import psutil

    proc = psutil.Process(server.proc.pid)
    return [proc, *proc.children(recursive=True)]


def _voila_process(server: Server):
    import psutil

    out = []
    for p in _server_processes(server):
        try:
            if "workbench.dashboards.gate" in " ".join(p.cmdline()):
                out.append(p)
        except psutil.Error:
            continue
    return out


def _browser_pss() -> int:
    import psutil

    return _pss(p for p in psutil.Process().children(recursive=True) if "chrom" in p.name())


def _server_pss(server: Server) -> int:
    import psutil

    proc = psutil.Process(server.proc.pid)
    return _pss([proc, *proc.children(recursive=True)])


def viewers(persons: int, count: int, browser, logs: Path, fork: bool | None = None) -> dict:
    """``count`` viewers opening the overview at once, on the server as served by default."""
    extract = extract_for(persons)
    server = Server(extract, 1, logs / f"viewers-{persons}.log", fork)
    try:
        server.wait_preheated(1)
        time.sleep(2)
        idle = _kernels(server)
        before, browser_before, server_before = _available(), _browser_pss(), _server_pss(server)
        cpu_before = _cpu(_browser_processes()), _cpu(_server_processes(server)), _cpu(_voila_process(server))
        pages = []
        for _ in range(count):
            context = browser.new_context(viewport={"width": 1280, "height": 1800})
            page = context.new_page()
            page.add_init_script(OBSERVER)
            page.goto(server.url, wait_until="commit")
            pages.append((context, page))
        waits, lost = [], 0
        for _context, page in pages:
            try:
                page.wait_for_function("window.__wb && window.__wb.rendered !== null", timeout=120_000)
                waits.append(page.evaluate("window.__wb.rendered") / 1000)
            except Exception:  # a page without its figures two minutes on: counted, not waited for
                lost += 1
        lost_sockets = server.log.read_text().count(LOST_SOCKET)  # while the pages are open
        cpu = (_cpu(_browser_processes()) - cpu_before[0], _cpu(_server_processes(server)) - cpu_before[1],
               _cpu(_voila_process(server)) - cpu_before[2])
        time.sleep(2)
        after, browser_after, server_after = _available(), _browser_pss(), _server_pss(server)
        live = _kernels(server)
        for context, _page in pages:
            context.close()
        closed = time.monotonic()
        while _kernels(server) > idle + 1 and time.monotonic() - closed < 180:  # + 1: the pool refilled
            time.sleep(1)
        released = time.monotonic() - closed
    finally:
        server.stop()
    browser_growth = browser_after - browser_before
    return {"waits": waits, "per_viewer": (before - after) / count, "kernels": live, "released": released,
            "per_viewer_server": (before - after - browser_growth) / count,
            "per_viewer_server_pss": (server_after - server_before) / count,
            "per_viewer_browser_pss": browser_growth / count, "load": os.getloadavg()[0],
            "cpu_browser": cpu[0], "cpu_server": cpu[1], "cpu_voila": cpu[2], "lost": lost,
            "lost_sockets": lost_sockets}


#: What ipykernel logs when a kernel replies on a socket already closed.
LOST_SOCKET = "Socket operation on non-socket"
MODES = {None: " (served by default: kernels forked)", True: " (kernels forked)",
         False: " (kernels started as processes)"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000, PERSONS_FOR_1M_CONTACTS],
                        help="persons of the demo extracts (default: 3,000 and 340,000, about 1M contacts)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--viewers", type=int, help="only: this many viewers at once (on each of --sizes)")
    parser.add_argument("--fork", action=argparse.BooleanOptionalAction, default=None,
                        help="--fork: kernels forked from the kernel template (workbench dashboard --fork-kernels); "
                             "--no-fork: each kernel a new process; default: as served by default (forked)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    logs = HERE / "data" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for persons in args.sizes if args.viewers else ():
            runs = []
            for _ in range(args.repeat):
                load = os.getloadavg()[0]
                r = viewers(persons, args.viewers, browser, logs, fork=args.fork)
                runs.append(r)
                print(f"{persons:>9,} persons, {args.viewers} viewers at once"
                      f"{MODES[args.fork]}: first figures median "
                      f"{statistics.median(r['waits']):.1f} s (max {max(r['waits']):.1f} s; target <= 5 s); "
                      f"{r['per_viewer'] / 2**20:,.0f} MiB a viewer by MemAvailable, browser pages included "
                      f"(target <= 100 MB), {r['per_viewer_server'] / 2**20:,.0f} MiB without the browser's "
                      f"growth (browser PSS {r['per_viewer_browser_pss'] / 2**20:,.0f} MiB a viewer; server PSS "
                      f"{r['per_viewer_server_pss'] / 2**20:,.0f} MiB a viewer); {r['kernels']} kernels; released "
                      f"{r['released']:.0f} s after the pages closed (target <= 60 s); load average "
                      f"{load:.1f} → {r['load']:.1f} on {os.cpu_count()} CPUs")
                print("    waits " + "  ".join(f"{v:.1f}" for v in sorted(r["waits"]))
                      + (f"; {r['lost']} page(s) without figures after 2 minutes" if r["lost"] else "")
                      + (f"; {r['lost_sockets']} kernel(s) replied on a closed socket" if r["lost_sockets"] else ""))
                print(f"    CPU until the last page showed its figures: browser {r['cpu_browser']:.1f} s, "
                      f"server {r['cpu_server']:.1f} s (of which Voilà's own process {r['cpu_voila']:.1f} s; the rest "
                      f"the kernels and their template)")
            if len(runs) > 1:
                med = {k: statistics.median(statistics.median(r["waits"]) if k == "waits" else r[k] for r in runs)
                       for k in ("waits", "per_viewer", "per_viewer_server", "released")}
                print(f"    median of {len(runs)} runs: first figures {med['waits']:.1f} s; "
                      f"{med['per_viewer'] / 2**20:,.0f} MiB a viewer (MemAvailable), "
                      f"{med['per_viewer_server'] / 2**20:,.0f} MiB without the browser; released "
                      f"{med['released']:.0f} s")
            results.extend(runs)
        for persons in () if args.viewers else args.sizes:
            r = measure(persons, args.repeat, browser, logs, fork=args.fork)
            results.append(r)
            med = {k: statistics.median(r[k]) for k in ("cold", "preheated", "update_chart", "update_all")}
            print(f"{r['persons']:>9,} persons {r['contacts']:>10,} contacts | "
                  f"cold {med['cold']:.2f} s  preheated {med['preheated']:.2f} s  "
                  f"update: chart {med['update_chart'] * 1000:.0f} ms, all {med['update_all'] * 1000:.0f} ms "
                  f"(load average {r['load_before']:.1f} → {r['load_after']:.1f} on {os.cpu_count()} CPUs)")
            for k in ("cold", "preheated", "update_chart", "update_all"):
                print(f"    {k:13} " + "  ".join(f"{v:.3f}" for v in r[k]))
        browser.close()
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
