"""A Chromium started ahead: launched while the report notebook runs, printing its page when asked.

Starting playwright and launching Chromium take most of a PDF's time (about 1.5 s of 2 s for a
report), and the main process only waits while the kernel runs the notebook. :class:`Printer`
launches the browser in a thread of its own (playwright's synchronous API stays in the thread
that started it) as soon as it is made; :meth:`Printer.print` hands it the HTML page and waits
for the PDF; :meth:`Printer.close` (or leaving the ``with`` block) closes the browser whether it
printed or not. The page is printed exactly as :func:`workbench.reports.outputs.print_pdf` prints
it (that function is a printer used once).
"""

from __future__ import annotations

import os
import queue
import tempfile
import threading
from pathlib import Path

from workbench.exceptions import ReportError


class Printer:
    """One headless Chromium, launched now, printing one HTML page to PDF."""

    def __init__(self, flags: tuple[str, ...], timeout: int = 180) -> None:
        from workbench.reports.outputs import chromium

        self.timeout = timeout
        self._flags = [f for f in flags if f not in ("--headless", "--no-pdf-header-footer")]
        self._jobs: queue.Queue = queue.Queue()
        self._done: queue.Queue = queue.Queue()
        self._closed = False
        self._submitted: tuple[Path, Path] | None = None
        try:
            self.browser_path = chromium()
            self._missing: ReportError | None = None
        except ReportError as exc:  # said when a PDF is asked for, as before
            self.browser_path, self._missing = "", exc
            return
        self._thread = threading.Thread(target=self._run, name="wb-printer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        from playwright.sync_api import sync_playwright

        failure: BaseException | None = None
        try:
            with tempfile.TemporaryDirectory(prefix="wb-chromium-") as profile, sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=self.browser_path, args=self._flags, headless=True,
                                             timeout=self.timeout * 1000, env={**os.environ, "HOME": profile})
                try:
                    page = browser.new_page()
                    job = self._jobs.get()
                    if job is not None:
                        html_path, pdf_path = job
                        page.goto(Path(html_path).resolve().as_uri(), wait_until="load", timeout=self.timeout * 1000)
                        page.emulate_media(media="print")
                        page.pdf(path=str(pdf_path), prefer_css_page_size=True, print_background=True,
                                 tagged=False, outline=False)
                finally:
                    browser.close()
        except BaseException as exc:  # handed to the thread that waits for the PDF
            failure = exc
        self._done.put(failure)

    def submit(self, html_path: Path, pdf_path: Path) -> None:
        """Start printing ``html_path`` to ``pdf_path`` (:meth:`print` waits for it)."""
        if self._missing is None and self._submitted is None and not self._closed:
            self._submitted = (Path(html_path), Path(pdf_path))
            self._jobs.put(self._submitted)

    def print(self, html_path: Path, pdf_path: Path) -> Path:
        """Print ``html_path`` to ``pdf_path`` and wait for it (the browser's errors raised here, as playwright's)."""
        if self._missing is not None:
            raise self._missing
        self.submit(html_path, pdf_path)
        if self._submitted != (Path(html_path), Path(pdf_path)) or self._closed:
            raise ReportError("This printer prints one page, once.")
        self._closed = True
        failure = self._done.get()
        self._thread.join()
        if failure is not None:
            raise failure
        return Path(pdf_path)

    def close(self) -> None:
        """Close the browser without printing (a run that stopped before its PDF)."""
        if self._missing is None and not self._closed:
            self._closed = True
            if self._submitted is None:
                self._jobs.put(None)
            self._done.get()
            self._thread.join()

    def __enter__(self) -> Printer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
