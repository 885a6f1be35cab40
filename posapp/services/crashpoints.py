"""The services' named kill points for the crash tests (``POSAPP_CRASH_AT=<point>[:<n>]``,
see :mod:`posapp.crashpoints`)."""

from __future__ import annotations

from posapp.crashpoints import ENV, crash_point

__all__ = ["ENV", "POINTS", "crash_point"]

POINTS = frozenset(
    {
        "after_journal",
        "after_answer",
        "before_print",
        "inut_after_journal",  # an inutilização journaled 'sending', not sent (services/inutilizacao.py)
        "inut_after_send",  # sent and answered, the answer not recorded
    }
)
