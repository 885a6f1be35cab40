"""Optional third-party packages of the simulators, and saying once that one is missing.

reportlab (the DANFE PDFs) is not a core dependency: without it the simulators still
answer, just without a PDF, and the log says why, once per process and consequence.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger("posapp.sim")

_reported: set[tuple[str, str]] = set()
_lock = threading.Lock()  # the Emites engine runs in worker threads


def missing_package(exc: ImportError, package: str) -> bool:
    """``exc`` is ``package`` (or one of its modules) not being importable."""
    return (exc.name or "").partition(".")[0] == package


def report_missing(package: str, consequence: str) -> None:
    """Log a warning that ``package`` is not installed and what that changes, only once."""
    with _lock:
        if (package, consequence) in _reported:
            return
        _reported.add((package, consequence))
    log.warning("%s is not installed (pip install %s): %s", package, package, consequence)
