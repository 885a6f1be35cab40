"""The store server's named kill points for its crash tests (``POSAPP_CRASH_AT=<point>[:<n>]``,
see :mod:`posapp.crashpoints`)."""

from __future__ import annotations

from posapp.crashpoints import ENV, crash_point

__all__ = ["ENV", "POINTS", "crash_point"]

POINTS = frozenset({"mid_push", "remote_cancel_before_ack"})
