"""Named points where the crash tests kill the process (``kill -9`` semantics).

The promises "no sale lost, none issued twice" are about what survives a crash at any
instant; the tests prove it by setting ``POSAPP_CRASH_AT=<point>[:<n>]``, which makes the
*n*-th pass through that point (default the first) SIGKILL its own process. Unset, this
is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal

ENV = "POSAPP_CRASH_AT"
POINTS = frozenset(
    {
        "after_journal",
        "after_answer",
        "before_print",
        "inut_after_journal",  # an inutilização journaled 'sending', not sent (services/inutilizacao.py)
        "inut_after_send",  # sent and answered, the answer not recorded
    }
)
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
