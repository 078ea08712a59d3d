"""The Voilà process of ``workbench dashboard``: Voilà with three doors closed.

``python -m workbench.dashboards.gate`` runs Voilà (same options, same ``voila.json``)
with these changes, all on the server side:

- **Preheated kernels learn their page's request through a keyed socket.** Voilà's own
  ``/voila/query/<kernel_id>`` answers anyone who can reach the port and hands over the
  viewer's query string (token included); the ids of kernels started the ordinary way are
  visible in the process list.
  Here the route refuses, before the websocket handshake, any request without the key
  that only the server's kernels know (:data:`ENV_QUERY_KEY`, in their private
  environment), and a request is handed over once, then forgotten.
- **A cap on viewers.** A page view starts a kernel (by default forked from the kernel
  template: :mod:`workbench.dashboards.zygote`); past
  ``max_viewers`` kernels in use, a page gets "too many viewers, try again in a
  minute" (HTTP 503) instead of a new kernel. A closed page releases its kernel
  :data:`RELEASE_AFTER` seconds after its websocket closed (the idle culler of ``voila.json``,
  idle and disconnected for 20 s, catches pages that never connected).
- **Nothing a kernel writes to stderr reaches a page.** Kernel logs (a traceback after a
  malformed ``comm_open``, with the server's paths) go to the server's log only: the
  kernel websocket drops ``stream``/``stderr`` and ``error`` messages.
- **The headers of ``voila.json`` on every response** (CSP, ``X-Frame-Options``,
  ``Referrer-Policy``), including errors, 404s and handlers that are not Jupyter's; and a
  preheated kernel handed to a page is marked active, so the 20 s culling cannot end it
  before the page connects.
"""

from __future__ import annotations

import logging

import hmac
import os

import tornado.web
from tornado.ioloop import IOLoop
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from jupyter_server._tz import utcnow
from traitlets import Integer
from voila.app import Voila
from voila.request_info_handler import RequestInfoSocketHandler
from voila.tornado.handler import TornadoVoilaHandler

from workbench.dashboards.server import DEFAULT_MAX_VIEWERS, ENV_QUERY_KEY, KEY_HEADER

BUSY_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Too many viewers / Trop de visiteurs</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 4em auto">
<h1 class="wb-busy">Too many viewers</h1>
<p>{viewers} dashboards are open on this server, its limit. Try again in a minute.</p>
<h1 lang="fr">Trop de visiteurs</h1>
<p lang="fr">{viewers} tableaux de bord sont ouverts sur ce serveur, sa limite. Réessayez dans une minute.</p>
</body></html>
"""


class KeyedRequestInfoHandler(RequestInfoSocketHandler):
    """Voilà's request-info socket, open only to a kernel that sends the server's key."""

    async def get(self, *args, **kwargs):
        key = os.environ.get(ENV_QUERY_KEY, "")
        given = self.request.headers.get(KEY_HEADER, "")
        if not key or not hmac.compare_digest(key.encode(), given.encode()):
            raise tornado.web.HTTPError(403)
        return await super().get(*args, **kwargs)

    def open(self, kernel_id: str) -> None:
        RequestInfoSocketHandler._waiters[kernel_id] = self
        payload = RequestInfoSocketHandler._cache.pop(kernel_id, None)  # handed over once
        if payload is not None:
            self.write_message(payload)

    def on_close(self) -> None:
        for kernel_id, waiter in list(RequestInfoSocketHandler._waiters.items()):
            if waiter is self:
                del RequestInfoSocketHandler._waiters[kernel_id]


def viewers(kernel_manager) -> int:
    """Kernels started for pages: all kernels but those waiting in the preheated pools."""
    pools = getattr(kernel_manager, "_pools", {})
    pooled = sum(len(pool) for pool in pools.values())
    return max(0, len(kernel_manager.list_kernel_ids()) - pooled)


class CappedVoilaHandler(TornadoVoilaHandler):
    """A dashboard page, or "too many viewers" when ``max_viewers`` kernels are in use."""

    @tornado.web.authenticated
    async def get(self, path=None):
        limit = self.settings.get("workbench_max_viewers", DEFAULT_MAX_VIEWERS)
        in_use = viewers(self.kernel_manager)
        if in_use >= limit:
            self.log.warning("dashboard refused: %d viewers, the limit", in_use)
            self.set_status(503)
            self.set_header("Retry-After", "60")
            self.set_header("Cache-Control", "no-store")
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(BUSY_PAGE.format(viewers=in_use))
            return
        async for html in self.get_generator(path=path):  # as Voilà's own handler
            self.write(html)
            self.flush()


#: Seconds a page's kernel outlives the page's last websocket (time for a page to reconnect after a
#: network blip), after which it is shut down instead of waiting for the idle culler (20 s idle, checked
#: every 5 s): a closed page frees its place among ``max_viewers`` and its memory sooner.
RELEASE_AFTER = 5


async def _release(manager, kernel_id: str, log) -> None:
    """Shut down the kernel ``kernel_id`` if no page connected to it again."""
    if kernel_id in manager and manager._kernel_connections.get(kernel_id, 0) == 0:
        log.info("workbench: kernel %s released, its page closed", kernel_id)
        await manager.shutdown_kernel(kernel_id)


class QuietConnection(ZMQChannelsWebsocketConnection):
    """The kernel websocket without the kernel's stderr and error messages; its kernel shut down
    :data:`RELEASE_AFTER` seconds after the page's last websocket closed."""

    def disconnect(self) -> None:
        super().disconnect()
        manager = self.multi_kernel_manager
        if manager._kernel_connections.get(self.kernel_id) == 0:
            IOLoop.current().call_later(RELEASE_AFTER, _release, manager, self.kernel_id, self.log)

    def handle_outgoing_message(self, stream, outgoing_msg) -> None:
        channel = stream if isinstance(stream, str) else getattr(stream, "channel", None)
        if channel == "iopub":
            _, parts = self.session.feed_identities(outgoing_msg)
            header = self.session.unpack(parts[1])
            kind = header.get("msg_type")
            if kind == "error" or (kind == "stream" and self.session.unpack(parts[4]).get("name") == "stderr"):
                return
        super().handle_outgoing_message(stream, outgoing_msg)


class _Headers:
    """The headers of ``voila.json`` (``tornado_settings.headers``) on every response, errors and
    handlers that are not Jupyter's included."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        for name, value in self.settings.get("headers", {}).items():
            self.set_header(name, value)


def _with_headers(handler: type) -> type:
    return type(handler.__name__, (_Headers, handler), {"__doc__": handler.__doc__})


class _NotFound(_Headers, tornado.web.RequestHandler):
    """Any address no route serves: 404, with the headers."""

    def prepare(self) -> None:
        raise tornado.web.HTTPError(404)


def _fresh_when_handed_out(kernel_manager):
    """A preheated kernel has been idle since it was heated: mark it active when a page takes
    it, or the culler ends it before the page's websocket connects."""
    take = kernel_manager.get_rendered_notebook

    async def get_rendered_notebook(*args, **kwargs):
        render_task, rendered, kernel_id = await take(*args, **kwargs)
        kernel_manager.get_kernel(kernel_id).last_activity = utcnow()
        return render_task, rendered, kernel_id

    return get_rendered_notebook


class _Quiet(logging.Filter):
    """Drops the "Notebook … is not trusted" warning: the server shows only the workbench's own pages,
    each run in a kernel it starts, so notebook trust (JupyterLab's guard for notebooks opened from
    elsewhere) does not apply, and the line alarms a coordinator reading the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "is not trusted" not in record.getMessage()


class WorkbenchVoila(Voila):
    """Voilà with a keyed request socket, a cap on viewers and a quiet kernel websocket."""

    max_viewers = Integer(DEFAULT_MAX_VIEWERS, config=True,
                          help="Pages served at once (one kernel each); past it, 'too many viewers'.")

    def init_settings(self) -> dict:
        self.kernel_websocket_connection_class = QuietConnection
        self.log.addFilter(_Quiet())
        settings = super().init_settings()
        self.contents_manager.log.addFilter(_Quiet())
        settings["workbench_max_viewers"] = self.max_viewers
        settings["default_handler_class"] = _NotFound
        if hasattr(self.kernel_manager, "get_rendered_notebook"):
            self.kernel_manager.get_rendered_notebook = _fresh_when_handed_out(self.kernel_manager)
        return settings

    def init_handlers(self) -> list:
        swap = {RequestInfoSocketHandler: KeyedRequestInfoHandler, TornadoVoilaHandler: CappedVoilaHandler}
        return [(spec[0], _with_headers(swap.get(spec[1], spec[1])), *spec[2:]) if isinstance(spec, tuple)
                else spec for spec in super().init_handlers()]


main = WorkbenchVoila.launch_instance

if __name__ == "__main__":
    main()
