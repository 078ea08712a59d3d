"""One chart renderer for every dashboard kernel forked from the kernel template.

vl-convert draws the dashboards' charts in a JavaScript engine that starts on the first chart: about
0.35 s of CPU and 70 MB of private memory in every kernel, which a fork cannot share (the engine runs
threads, so the template must not start it). The template therefore forks, before any kernel, one
*renderer* process that starts the engine and draws the SVG of every kernel's charts on a Unix socket
in the server's private folder (:func:`serve`); a forked kernel sets
:data:`workbench.present.charts.svg_renderer` to a :class:`Client`. Same vl-convert, same spec, same
bytes. Should the renderer be gone or fail, the kernel draws in-process from then on.

Frames on the socket: a 4-byte big-endian length, then JSON ``{"spec", "format_locale"}`` one way and
the answer of :func:`workbench.present.drawing.answer` (``{"svg"}`` or ``{"error", "type"}``) the other: the
reports' drawing process (:mod:`workbench.present.drawing`) draws and refuses the same way, on a pipe.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import socket
import struct
import sys
from pathlib import Path

from workbench.present.drawing import WARM_SPEC, answer, draw_here, refusal

_HEADER = struct.Struct(">I")
_MAX_FRAME = 64 << 20


def _send(conn: socket.socket, payload: dict) -> None:
    data = json.dumps(payload).encode()
    conn.sendall(_HEADER.pack(len(data)) + data)


def _receive(conn: socket.socket) -> dict | None:
    """One frame, or None when the other side closed."""
    header = _exactly(conn, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > _MAX_FRAME:
        raise ValueError(f"a frame of {size} bytes")
    data = _exactly(conn, size)
    if data is None:
        return None
    return json.loads(data)


def _exactly(conn: socket.socket, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = conn.recv(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def serve(socket_path: Path, parent: int) -> None:
    """The renderer's loop (in a process of its own): one request at a time, until ``parent`` is gone."""
    draw_here(WARM_SPEC)  # start the engine now
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(socket_path))
    os.chmod(socket_path, 0o600)
    listener.listen(64)
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    while os.getppid() == parent:
        for key, _ in sel.select(timeout=0.5):
            if key.fileobj is listener:
                conn, _ = listener.accept()
                conn.settimeout(30)
                sel.register(conn, selectors.EVENT_READ)
                continue
            conn = key.fileobj
            try:
                request = _receive(conn)
                if request is None:
                    raise EOFError
                _send(conn, answer(request))  # the SVG, or why vl-convert refuses the spec
            except (OSError, ValueError, EOFError):
                sel.unregister(conn)
                conn.close()


class Client:
    """``render(spec, format_locale=...)`` through the renderer; in-process vl-convert if it fails."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self._conn: socket.socket | None = None
        self.failed = False

    def __call__(self, spec: dict, format_locale: str = "fr-FR") -> str:
        if not self.failed:
            try:
                if self._conn is None:
                    self._conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    self._conn.settimeout(60)
                    self._conn.connect(self.socket_path)
                _send(self._conn, {"spec": spec, "format_locale": format_locale})
                reply = _receive(self._conn)
                if reply is not None and "svg" in reply:
                    return reply["svg"]
                if reply is not None:
                    raise refusal(reply)
                raise OSError("the renderer closed the connection")
            except OSError as exc:  # gone or stuck: draw here from now on
                self.failed = True
                print(f"workbench: charts drawn in the kernel ({exc})", file=sys.__stderr__, flush=True)
                with contextlib.suppress(OSError):
                    self._conn.close()
        return draw_here(spec, format_locale)
