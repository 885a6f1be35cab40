"""``posapp doctor``: is this terminal ready to sell? Each check says what is wrong and what to do.

Written for the store technician on the phone with support, so every line is plain
Portuguese, names the file, host or device involved, and ends with the action to take.
A check answers ``ok``, ``aviso`` (works, but fix it soon) or ``falha`` (a sale would be
queued, refused or unprinted); the exit code is 1 when anything failed, so scripts and
the installer's smoke test can rely on it.

What is checked, in order (later checks use the configuration read by the first one):

1. the configuration file parses (:func:`posapp.config.load_config`);
2. the data folder exists (or can be created), is writable and has free space;
3. the journal and the store file pass ``PRAGMA integrity_check`` (opened read-only:
   the doctor never changes a sale);
4. Emites-Client accepts a TCP connection within ``emites.connect_timeout_s``;
5. each online provider answers an HTTP GET of its ``base_url``; the HTTP ``Date`` header
   gives the clock skew (the 30-minute cancel window and SEFAZ's time checks depend on
   the local clock), and its token is present (environment or keyring; never printed);
6. the printer: device permissions, connection and status; a test page on request.

The checks block (sockets, HTTP, SQLite, serial ports): :func:`run_doctor` is meant for the
command line; a GUI must call it from an executor, never on its event-loop thread.
"""

from posapp.doctor.issuers import check_clock_skew, check_emites, check_provider
from posapp.doctor.local import check_config, check_data_dir, check_sqlite_file, default_config_path
from posapp.doctor.printer import check_printer
from posapp.doctor.report import collect_checks, render, run_doctor
from posapp.doctor.result import CheckResult, Level

__all__ = [
    "CheckResult",
    "Level",
    "check_clock_skew",
    "check_config",
    "check_data_dir",
    "check_emites",
    "check_printer",
    "check_provider",
    "check_sqlite_file",
    "collect_checks",
    "default_config_path",
    "render",
    "run_doctor",
]
