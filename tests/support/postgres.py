"""A real PostgreSQL for the tests: Debian's ``postgresql`` binaries, ``initdb`` and ``pg_ctl``
in a temporary folder, run as an unprivileged user (PostgreSQL refuses to run as root), on a
free loopback port, with password (SCRAM) authentication and TLS (a self-signed certificate),
so the tests meet the same server a store runs. No mock of the database.

One server per test session; each test gets a fresh database (``CREATE DATABASE`` is a few
tens of milliseconds). The server is told ``fsync=off``: these tests check our rules, not
PostgreSQL's durability, and the suite's PostgreSQL part must stay fast.
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "posapp_admin"
APP_USER = "posapp"
UNPRIVILEGED = "nobody"


class PostgresMissing(RuntimeError):
    """PostgreSQL's server binaries are not installed here."""


def server_bindir() -> Path:
    """Where ``initdb`` and ``pg_ctl`` are: Debian keeps them out of PATH, by major version."""
    found = shutil.which("pg_ctl")
    if found and Path(found).resolve().parent.joinpath("initdb").exists():
        return Path(found).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists() and Path(candidate, "pg_ctl").exists():
            return Path(candidate)
    raise PostgresMissing(
        "PostgreSQL's server binaries (initdb, pg_ctl) were not found: install Debian's 'postgresql' "
        "package (apt-get install -y postgresql; scripts/bootstrap does it as root)"
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresServer:
    """A running server; ``url(db)`` is a libpq URL *without* the password (as posapp's
    configuration holds it); the password is ``password``."""

    root: Path
    bindir: Path
    port: int
    password: str
    admin_password: str
    as_user: str | None
    tls: bool = False
    _counter: int = 0

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def url(self, database: str, *, user: str = APP_USER, query: str = "") -> str:
        suffix = f"?{query}" if query else ""
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}{suffix}"

    def admin_conninfo(self, database: str = "postgres") -> str:
        return (
            f"host=127.0.0.1 port={self.port} dbname={database} user={SUPERUSER} "
            f"password={self.admin_password} sslmode=disable"
        )

    def create_database(self) -> str:
        """A fresh database owned by the application user."""
        import psycopg

        self._counter += 1
        name = f"store_{os.getpid()}_{self._counter}"
        with psycopg.connect(self.admin_conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" OWNER {APP_USER}')
        return name

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(argv)
        if self.as_user is not None:
            cmd = ["runuser", "-u", self.as_user, "--", *cmd]
        result = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=60)
        if check and result.returncode != 0:
            log = self.root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(cmd)} exited {result.returncode}:\n{result.stdout}{result.stderr}\n{tail}"
            )
        return result

    def start(self) -> None:
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.datadir),
            "-l",
            str(self.root / "server.log"),
            "-w",
            "-t",
            "30",
            "-o",
            f"-p {self.port}",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """``fast`` ends the sessions and stops cleanly; ``immediate`` is a crash (no
        checkpoint; the next start recovers from the WAL)."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        self.stop()
        self.start()

    def is_running(self) -> bool:
        result = self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "status", check=False)
        return result.returncode == 0


def _unprivileged_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(UNPRIVILEGED)
    except KeyError as exc:
        raise PostgresMissing(
            f"running as root and there is no '{UNPRIVILEGED}' user to run PostgreSQL"
        ) from exc
    if shutil.which("runuser") is None:
        raise PostgresMissing(
            "running as root and 'runuser' is missing: cannot start PostgreSQL unprivileged"
        )
    return UNPRIVILEGED


def _self_signed(root: Path, as_user: str | None) -> bool:
    """A certificate for ``ssl = on``; False when openssl is missing (TLS tests then skip)."""
    if shutil.which("openssl") is None:
        return False
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(root / "data" / "server.key"),
            "-out",
            str(root / "data" / "server.crt"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    if as_user is not None:
        for name in ("server.key", "server.crt"):
            shutil.chown(root / "data" / name, user=as_user)
    (root / "data" / "server.key").chmod(0o600)
    return True


def start_server() -> PostgresServer:
    """initdb + pg_ctl start in a fresh folder; raises :class:`PostgresMissing` when the
    binaries are not installed."""
    bindir = server_bindir()
    as_user = _unprivileged_user()
    # The unprivileged user must reach the folder: under root's own TMPDIR it might not.
    parent = "/tmp" if as_user is not None and os.path.isdir("/tmp") else None
    root = Path(tempfile.mkdtemp(prefix="posapp-pg-", dir=parent))
    root.chmod(0o755)
    if as_user is not None:
        shutil.chown(root, user=as_user)
    admin_password = secrets.token_hex(12)
    password = secrets.token_hex(12)
    pwfile = root / "pwfile"
    pwfile.write_text(admin_password + "\n")
    pwfile.chmod(0o644)
    server = PostgresServer(root, bindir, _free_port(), password, admin_password, as_user)
    server._run(
        str(bindir / "initdb"),
        "-D",
        str(server.datadir),
        "-U",
        SUPERUSER,
        "--pwfile",
        str(pwfile),
        "--auth=scram-sha-256",
        "-E",
        "UTF8",
        "--locale=C",
        "--no-sync",
    )
    pwfile.unlink()
    tls = _self_signed(root, as_user)
    with (server.datadir / "postgresql.conf").open("a") as conf:
        conf.write(
            "\nlisten_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{root}'\n"
            "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
            "max_connections = 120\nshared_buffers = 64MB\n"
            f"ssl = {'on' if tls else 'off'}\n"
        )
    server.start()
    import psycopg

    with psycopg.connect(server.admin_conninfo(), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {APP_USER} LOGIN PASSWORD '{password}'")
    server.tls = tls
    return server


def destroy(server: PostgresServer) -> None:
    server.stop("immediate")
    shutil.rmtree(server.root, ignore_errors=True)


def wait_port_closed(port: int, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)


def session_server() -> Iterator[PostgresServer]:
    server = start_server()
    try:
        yield server
    finally:
        destroy(server)
