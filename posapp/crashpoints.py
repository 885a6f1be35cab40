"""Named points where the crash tests kill the process (``kill -9`` semantics).

The promises "no sale lost, none issued twice" are about what survives a crash at any
instant; the tests prove it by setting ``POSAPP_CRASH_AT=<point>[:<n>]``, which makes the
*n*-th pass through that point (default the first) SIGKILL its own process. Unset, this
is one dictionary lookup. The points themselves are named where they are used
(``posapp/services/crashpoints.py``, ``posapp/storeserver/faults.py``).
"""

from __future__ import annotations

import os
import signal

ENV = "POSAPP_CRASH_AT"
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
