"""Charts drawn by vl-convert in a process of its own, while the report goes on.

vl-convert (1.9) holds the interpreter's lock while it draws and while its JavaScript engine starts
(about 0.3 s): in a thread it stops the notebook as surely as in line. A report's kernel therefore
starts one drawing process when it opens its report (:func:`shared`): the engine starts there, on
the other core, while the extract loads; each chart is handed over as soon as its spec is made
(:meth:`Drawer.submit`), and the notebook waits for the SVG only when it puts the block together.
Same vl-convert, same spec, same bytes; answers come back in the order asked. A spec vl-convert
refuses raises the same error, with the same message, as when drawn in-process; should the process
be gone (or the caller be a fork of the process that started it), charts are drawn in-process.

Protocol on the process's standard input and output: one JSON object per line,
``{"spec", "format_locale"}`` one way, ``{"svg"}`` or ``{"error", "type"}`` the other.
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future

#: A chart like the reports' and dashboards' (bars, text, axes, French numbers), drawn once to start
#: vl-convert's JavaScript engine and fonts.
WARM_SPEC = {
    "config": {"font": "sans-serif"}, "width": 100, "height": 40, "title": "é",
    "data": {"values": [{"c": "a", "v": 1.5, "t": "1,5"}, {"c": "b", "v": 2, "t": "2"}]},
    "layer": [{"mark": "bar", "encoding": {"y": {"field": "c", "type": "nominal"},
                                           "x": {"field": "v", "type": "quantitative"}}},
              {"mark": "text", "encoding": {"y": {"field": "c", "type": "nominal"},
                                            "x": {"field": "v", "type": "quantitative"},
                                            "text": {"field": "t"}}}],
}
#: The errors a refused spec raises, passed on by name.
_ERRORS = {"ValueError": ValueError, "TypeError": TypeError, "KeyError": KeyError}


class _Gone(Exception):
    """The drawing process ended before answering: drawn in-process instead."""


def draw_here(spec: dict, format_locale: str = "fr-FR") -> str:
    """A chart drawn by vl-convert in this process."""
    import vl_convert

    return vl_convert.vegalite_to_svg(spec, format_locale=format_locale)


def answer(request: dict) -> dict:
    """What a drawing process (this module's, or the dashboards' renderer) answers to
    ``{"spec", "format_locale"}``: ``{"svg"}``, or ``{"error", "type"}`` for a spec vl-convert refuses."""
    try:
        return {"svg": draw_here(request["spec"], request["format_locale"])}
    except (ValueError, TypeError, KeyError) as exc:
        return {"error": exc.args[0] if len(exc.args) == 1 else str(exc), "type": type(exc).__name__}


def refusal(answer: dict) -> Exception:
    """The error a refusal (:func:`answer`) stands for: vl-convert's own type and message."""
    return _ERRORS.get(answer.get("type"), ValueError)(answer.get("error", "the chart was refused"))


class Drawer:
    """One vl-convert process; ``submit(spec, format_locale)`` returns a function giving the SVG."""

    def __init__(self, command: list[str] | None = None) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._pending: collections.deque[Future] = collections.deque()
        self.failed = False
        import workbench

        try:  # run from the folder holding this package: ``-m`` imports this workbench, whatever the notebook's folder
            self._proc = subprocess.Popen(command or [sys.executable, "-m", "workbench.present.drawing"],
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=subprocess.DEVNULL, close_fds=True,
                                          cwd=os.path.dirname(os.path.dirname(workbench.__file__)))
        except OSError:
            self.failed = True
            return
        self._reader = threading.Thread(target=self._read, name="wb-charts", daemon=True)
        self._reader.start()
        # At exit the process is ended and its answers read to the end: a thread still reading its pipe
        # as the interpreter finalises would hold the kernel's exit for seconds.
        atexit.register(self.close)

    def _read(self) -> None:
        """Hand each answer to the chart asked first (a thread; waiting on the pipe releases the lock)."""
        for line in self._proc.stdout:
            with self._lock:
                future = self._pending.popleft() if self._pending else None
            if future is None:
                continue
            try:
                answer = json.loads(line)
            except ValueError:
                future.set_exception(_Gone())
                continue
            if "svg" in answer:
                future.set_result(answer["svg"])
            else:
                future.set_exception(refusal(answer))
        self._proc.wait()  # reaped at once: a kernel ending its children waits while one is left, even a zombie
        with self._lock:  # the process is gone: what it did not answer is drawn here
            self.failed = True
            left, self._pending = list(self._pending), collections.deque()
        for future in left:
            future.set_exception(_Gone())

    def submit(self, spec: dict, format_locale) -> Callable[[], str]:
        """Hand ``spec`` to the process now; the function returned waits for its SVG (or raises as
        vl-convert would)."""
        future: Future = Future()
        try:
            line = (json.dumps({"spec": spec, "format_locale": format_locale}) + "\n").encode()
        except (TypeError, ValueError):
            line = None  # not JSON as it is: drawn here, where vl-convert says what is wrong
        with self._lock:
            usable = line is not None and not self.failed and os.getpid() == self._pid
            if usable:
                try:
                    self._pending.append(future)
                    self._proc.stdin.write(line)
                    self._proc.stdin.flush()
                except (OSError, ValueError):
                    self._pending.remove(future)
                    self.failed = usable = False
        if not usable:
            return lambda: draw_here(spec, format_locale)

        def svg() -> str:
            try:
                return future.result()
            except _Gone:
                return draw_here(spec, format_locale)

        return svg

    def __call__(self, spec: dict, format_locale="fr-FR") -> str:
        return self.submit(spec, format_locale)()

    def close(self) -> None:
        """End the process and its reader (the process also ends when its parent does: its input closes)."""
        if os.getpid() != self._pid or not hasattr(self, "_reader"):
            return
        try:
            self._proc.stdin.close()
        except OSError:
            pass
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=10)


_SHARED: Drawer | None = None
_SHARED_LOCK = threading.Lock()
#: Set (to "1") where every core is already busy (a batch rendering as many reports at once as there are
#: cores): charts are drawn in the kernel, which spares a process per report.
IN_KERNEL = "WORKBENCH_CHARTS_IN_KERNEL"


def shared() -> Drawer | None:
    """This process's drawing process, started on first use; ``None`` when :data:`IN_KERNEL` is set
    (charts drawn in this process)."""
    global _SHARED
    if os.environ.get(IN_KERNEL) == "1":
        return None
    with _SHARED_LOCK:
        if _SHARED is None or _SHARED._pid != os.getpid():
            _SHARED = Drawer()
        return _SHARED


def serve() -> None:
    """The drawing process: starts the engine, then draws each spec read, in order, until its input ends."""
    out = sys.stdout
    draw_here(WARM_SPEC)
    for line in sys.stdin.buffer:
        out.write(json.dumps(answer(json.loads(line))) + "\n")
        out.flush()


if __name__ == "__main__":
    serve()
