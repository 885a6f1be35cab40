"""Named kill points for the store server's crash tests (``POSAPP_CRASH_AT=<point>[:<n>]``,
the same variable as ``posapp/services/crashpoints.py``; a package below the services keeps
its own few lines rather than import upward). Unset, one dictionary lookup."""

from __future__ import annotations

import os
import signal

ENV = "POSAPP_CRASH_AT"
POINTS = frozenset({"mid_push", "remote_cancel_before_ack"})
_passes: dict[str, int] = {}


def crash_point(name: str) -> None:
    spec = os.environ.get(ENV)
    if not spec:
        return
    point, _, nth = spec.partition(":")
    if point != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
