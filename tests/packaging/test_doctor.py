"""`posapp doctor` against real peers: a TCP listener, a closed port, an HTTP server with a skewed
clock, real SQLite files (one of them garbage), and a ``file:`` printer."""

from __future__ import annotations

import email.utils
import io
import socket
import sqlite3
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import keyring
import keyring.backends.null
import pytest

from posapp.config import EmitesConfig, PrinterConfig, ProviderConfig
from posapp.doctor import (
    Level,
    check_clock_skew,
    check_data_dir,
    check_emites,
    check_printer,
    check_provider,
    check_sqlite_file,
    run_doctor,
)

TOKEN = "yrZ8kVuXe3pVJWMZoRrlNtNpCnvkAu1S"


# --- peers ---------------------------------------------------------------------------------


@pytest.fixture
def tcp_listener() -> Iterator[int]:
    """A real listening socket on loopback that accepts and closes, like an idle Emites-Client."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    port = server.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port
    stop.set()
    thread.join(2)
    server.close()


@pytest.fixture
def closed_port() -> int:
    """A port that was just free: nothing listens there (connect is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _DateServer(ThreadingHTTPServer):
    offset = timedelta(0)
    send_date = True

    def host_port(self) -> tuple[str, int]:
        host, port = self.server_address[:2]
        assert isinstance(host, str)  # bound to "127.0.0.1" below, never bytes
        return host, port


class _DateHandler(BaseHTTPRequestHandler):
    server: _DateServer

    def date_time_string(self, timestamp: float | None = None) -> str:
        when = datetime.now(UTC) + self.server.offset
        return email.utils.format_datetime(when, usegmt=True)

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "date" and not self.server.send_date:
            return
        super().send_header(keyword, value)

    def do_GET(self) -> None:
        body = b'{"mensagem": "not found"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[_DateServer]:
    server = _DateServer(("127.0.0.1", 0), _DateHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(2)


@pytest.fixture
def no_keyring() -> Iterator[None]:
    """Tokens come only from the environment in these tests, whatever keyring the machine has."""
    previous = keyring.get_keyring()
    # keyring's backends inherit an unannotated KeyringBackend.__init__.
    keyring.set_keyring(keyring.backends.null.Keyring())  # type: ignore[no-untyped-call]
    yield
    keyring.set_keyring(previous)


def _provider(server: _DateServer, **kw: object) -> ProviderConfig:
    host, port = server.host_port()
    return ProviderConfig.model_validate(
        {"name": "focusnfe", "base_url": f"http://{host}:{port}", "token_env": "POSAPP_TEST_TOKEN", **kw}
    )


# --- Emites-Client ----------------------------------------------------------------------------


def test_emites_listening_is_ok(tcp_listener: int) -> None:
    result = check_emites(EmitesConfig(host="127.0.0.1", port=tcp_listener, connect_timeout_s=2))
    assert result.level is Level.OK
    assert f"127.0.0.1:{tcp_listener}" in result.message


def test_emites_closed_port_fails_with_an_action(closed_port: int) -> None:
    result = check_emites(EmitesConfig(host="127.0.0.1", port=closed_port, connect_timeout_s=2))
    assert result.level is Level.FAIL
    assert f"127.0.0.1:{closed_port}" in result.message
    assert "Emites-Client" in result.action


# --- journal ------------------------------------------------------------------------------------


def test_corrupt_journal_fails(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    journal.write_bytes(b"this is not a database, just garbage\x00\xff" * 200)
    result = check_sqlite_file(journal, "Diário de vendas")
    assert result.level is Level.FAIL
    assert "corrompido" in result.message
    assert "Não apague" in result.action
    assert journal.read_bytes().startswith(b"this is not a database")  # untouched


def test_damaged_pages_inside_a_real_database_fail(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    db = sqlite3.connect(journal)
    db.execute("PRAGMA page_size=1024")
    db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT)")
    db.execute("CREATE INDEX events_body ON events(body)")
    db.executemany("INSERT INTO events (body) VALUES (?)", [(f"event {i} " * 20,) for i in range(400)])
    db.commit()
    db.close()
    data = bytearray(journal.read_bytes())
    for offset in range(5 * 1024, len(data) - 2048, 7 * 1024):  # scribble over b-tree pages
        data[offset + 8 : offset + 300] = b"\xa5" * 292
    journal.write_bytes(bytes(data))
    result = check_sqlite_file(journal, "Diário de vendas")
    assert result.level is Level.FAIL


def test_healthy_and_absent_journals_are_ok(tmp_path: Path) -> None:
    journal = tmp_path / "journal.sqlite3"
    assert check_sqlite_file(journal, "Diário").level is Level.OK  # absent: will be created
    db = sqlite3.connect(journal)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA user_version=3")
    db.execute("CREATE TABLE sales (id TEXT PRIMARY KEY)")
    db.commit()
    db.close()
    result = check_sqlite_file(journal, "Diário")
    assert result.level is Level.OK
    assert "v3" in result.message


def test_doctor_shows_this_tills_identity(tmp_path: Path) -> None:
    from posapp.doctor.local import check_till_identity
    from posapp.journal.store import Journal

    path = tmp_path / "journal.sqlite3"
    assert "primeiro início" in check_till_identity(path).message
    journal = Journal(path)
    try:
        till = journal.till_id()
    finally:
        journal.close()
    result = check_till_identity(path)
    assert result.level is Level.OK and result.message.startswith(till)


# --- data folder ---------------------------------------------------------------------------------


def test_data_dir_states(tmp_path: Path) -> None:
    assert next(r.level for r in check_data_dir(tmp_path)) is Level.OK
    missing = check_data_dir(tmp_path / "a" / "b")
    assert missing[0].level is Level.WARN and "será criada" in missing[0].message
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert check_data_dir(a_file)[0].level is Level.FAIL
    assert not list(tmp_path.glob(".doctor-*"))  # the write probe cleans up after itself


# --- providers and the clock ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset_min", "level"),
    [(0, Level.OK), (5, Level.WARN), (-5, Level.WARN), (20, Level.FAIL), (-20, Level.FAIL)],
)
def test_clock_skew_from_the_http_date_header(
    http_server: _DateServer,
    offset_min: int,
    level: Level,
    monkeypatch: pytest.MonkeyPatch,
    no_keyring: None,
) -> None:
    monkeypatch.setenv("POSAPP_TEST_TOKEN", TOKEN)
    http_server.offset = timedelta(minutes=offset_min)
    results = check_provider(_provider(http_server))
    by_title = {r.title: r for r in results}
    assert by_title["Provedor Focus NFe"].level is Level.OK
    assert "HTTP 404" in by_title["Provedor Focus NFe"].message  # any answer means reachable
    clock = by_title["Relógio"]
    assert clock.level is level
    if offset_min > 0:
        assert "atrasado" in clock.message  # the server is ahead: our clock is behind
    if offset_min < 0:
        assert "adiantado" in clock.message
    assert by_title["Token Focus NFe"].level is Level.OK


def test_missing_date_header_is_a_warning(http_server: _DateServer, no_keyring: None) -> None:
    http_server.send_date = False
    results = check_provider(_provider(http_server))
    assert [r.level for r in results if r.title == "Relógio"] == [Level.WARN]


def test_unreachable_provider_fails(closed_port: int, no_keyring: None) -> None:
    provider = ProviderConfig(name="integranotas", base_url=f"http://127.0.0.1:{closed_port}")
    results = check_provider(provider)
    assert results[0].level is Level.FAIL
    assert results[0].title == "Provedor Integra Notas"


def test_missing_token_fails_and_names_where_to_put_it(
    http_server: _DateServer, monkeypatch: pytest.MonkeyPatch, no_keyring: None
) -> None:
    monkeypatch.delenv("POSAPP_TEST_TOKEN", raising=False)
    token = next(r for r in check_provider(_provider(http_server)) if r.title.startswith("Token"))
    assert token.level is Level.FAIL
    assert "POSAPP_TEST_TOKEN" in token.message


def test_clock_thresholds() -> None:
    assert check_clock_skew(119, "x").level is Level.OK
    assert check_clock_skew(121, "x").level is Level.WARN
    assert check_clock_skew(-599, "x").level is Level.WARN
    assert check_clock_skew(601, "x").level is Level.FAIL


# --- printer ---------------------------------------------------------------------------------------


def test_printer_none_and_preview_are_ok() -> None:
    assert check_printer(PrinterConfig(uri="none"))[0].level is Level.OK
    assert check_printer(PrinterConfig(uri="preview"))[0].level is Level.OK


def test_missing_serial_device_fails() -> None:
    result = check_printer(PrinterConfig(uri="serial:/dev/ttyPOSAPP-does-not-exist?baudrate=9600"))[0]
    assert result.level is Level.FAIL
    assert "/dev/ttyPOSAPP-does-not-exist" in result.message


def test_file_printer_in_a_missing_folder_fails(tmp_path: Path) -> None:
    result = check_printer(PrinterConfig(uri=f"file:{tmp_path}/nope/out.bin"))[0]
    assert result.level is Level.FAIL


# --- the whole report ----------------------------------------------------------------------------------


def _write_config(path: Path, port: int, extra: str = "") -> Path:
    path.write_text(
        f'[emites]\nhost = "127.0.0.1"\nport = {port}\nconnect_timeout_s = 2\n'
        f'[printer]\nuri = "none"\n{extra}',
        encoding="utf-8",
    )
    return path


def test_doctor_all_good_exits_zero(tcp_listener: int, tmp_path: Path) -> None:
    config = _write_config(tmp_path / "posapp.toml", tcp_listener)
    data = tmp_path / "data"
    data.mkdir()
    out = io.StringIO()
    assert run_doctor(config, data, test_page=False, out=out) == 0
    report = out.getvalue()
    assert "[FALHA]" not in report
    assert "Emites-Client" in report and "Tudo pronto para vender" in report


def test_doctor_reports_what_to_fix_and_exits_one(
    closed_port: int,
    http_server: _DateServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    no_keyring: None,
) -> None:
    monkeypatch.setenv("POSAPP_TEST_TOKEN", TOKEN)
    http_server.offset = timedelta(minutes=-30)
    host, port = http_server.host_port()
    provider = (
        f'[[providers]]\nname = "focusnfe"\nbase_url = "http://{host}:{port}"\n'
        'token_env = "POSAPP_TEST_TOKEN"\n'
    )
    config = _write_config(tmp_path / "posapp.toml", closed_port, provider)
    data = tmp_path / "data"
    data.mkdir()
    (data / "journal.sqlite3").write_bytes(b"garbage" * 100)
    out = io.StringIO()
    assert run_doctor(config, data, test_page=False, out=out) == 1
    report = out.getvalue()
    assert report.count("[FALHA]") == 3  # Emites down, clock 30 min ahead, journal corrupt
    assert "O que fazer:" in report
    assert "adiantado" in report
    assert TOKEN not in report  # the token is never printed


def test_doctor_with_invalid_config(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("[emites]\nport = 'not a number'\n", encoding="utf-8")
    out = io.StringIO()
    assert run_doctor(config, tmp_path, test_page=False, out=out) == 1
    report = out.getvalue()
    assert "[FALHA] Configuração" in report
    assert "Não verificado: a configuração é inválida." in report


def test_printer_not_verified_without_the_printing_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "posapp.printing.connections", None)  # import now raises
    results = check_printer(PrinterConfig(uri=f"file:{tmp_path}/out.bin"))
    assert [r.level for r in results] == [Level.WARN]
    assert "não verificado" in results[0].message


class _EscposPrinter:
    """A real TCP peer that answers DLE EOT 1 / DLE EOT 4 like an Epson-compatible printer."""

    def __init__(self, printer_byte: int, paper_byte: int) -> None:
        self.answers = {1: bytes([printer_byte]), 4: bytes([paper_byte])}
        self.received = bytearray()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(5)
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.server.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            while True:
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    return
                if not chunk:
                    return
                self.received += chunk
                while True:
                    at = self.received.find(b"\x10\x04")
                    if at < 0 or at + 2 >= len(self.received):
                        break
                    n = self.received[at + 2]
                    del self.received[at : at + 3]
                    conn.sendall(self.answers.get(n, b""))

    def close(self) -> None:
        self.server.close()
        self.thread.join(2)


@pytest.mark.parametrize(
    ("printer_byte", "paper_byte", "level", "words"),
    [
        (0x12, 0x12, Level.OK, "pronta"),
        (0x12, 0x1E, Level.WARN, "papel"),  # near-end sensor
        (0x12, 0x72, Level.FAIL, "sem papel"),  # paper end
        (0x1A, 0x12, Level.FAIL, "offline"),  # bit 3: offline (cover open)
    ],
)
def test_network_printer_status(printer_byte: int, paper_byte: int, level: Level, words: str) -> None:
    printer = _EscposPrinter(printer_byte, paper_byte)
    try:
        results = check_printer(PrinterConfig(uri=f"tcp:127.0.0.1:{printer.port}"))
    finally:
        printer.close()
    assert [r.level for r in results] == [level]
    assert words in results[0].message


def test_network_printer_refusing_fails(closed_port: int) -> None:
    results = check_printer(PrinterConfig(uri=f"tcp:127.0.0.1:{closed_port}"))
    assert [r.level for r in results] == [Level.FAIL]
    assert "recusou" in results[0].message


def test_file_printer_with_test_page(tmp_path: Path) -> None:
    out = tmp_path / "printer.bin"
    results = check_printer(PrinterConfig(uri=f"file:{out}", paper_mm=58), test_page=True)
    assert [r.level for r in results] == [Level.OK, Level.OK]
    data = out.read_bytes()
    assert data.startswith(b"\x1b@")  # ESC @: a real ESC/POS job reached the "printer"
    assert str(len(data)) in results[1].message


# --- a printer that never answers status, issuers, file paths -----------------------------------------


def test_silent_network_printer_is_a_warning() -> None:
    """Connected, but no DLE EOT answer: the spool would mark every receipt "não confirmado"."""
    printer = _EscposPrinter(0x12, 0x12)
    printer.answers = {}  # answers nothing
    try:
        results = check_printer(PrinterConfig(uri=f"tcp:127.0.0.1:{printer.port}?status_timeout=0.2"))
    finally:
        printer.close()
    assert [r.level for r in results] == [Level.WARN]
    assert "não respondeu" in results[0].message and "não confirmadas" in results[0].message


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
def test_silent_serial_printer_fails() -> None:
    import os

    master, slave = os.openpty()  # the far end never answers: wrong baud rate or no RX wire
    name = os.ttyname(slave)
    os.close(slave)
    try:
        results = check_printer(PrinterConfig(uri=f"serial:{name}?baudrate=9600&status_timeout=0.2"))
    finally:
        os.close(master)
    assert [r.level for r in results] == [Level.FAIL]
    assert "baudrate" in results[0].action


def test_doctor_fails_when_nothing_can_issue(tmp_path: Path) -> None:
    config = tmp_path / "posapp.toml"
    config.write_text('[emites]\nenabled = false\n[printer]\nuri = "none"\n', encoding="utf-8")
    data = tmp_path / "data"
    data.mkdir()
    out = io.StringIO()
    assert run_doctor(config, data, test_page=False, out=out) == 1
    report = out.getvalue()
    assert "[FALHA] Emissor de NFC-e: Nenhum emissor ativo" in report
    assert report.count("[FALHA]") == 1


def test_doctor_with_only_a_provider_does_not_flag_missing_issuer(tmp_path: Path) -> None:
    from posapp.doctor.issuers import check_some_issuer

    disabled = EmitesConfig(enabled=False)
    provider = ProviderConfig(name="focusnfe", base_url="http://127.0.0.1:9", token_env="X")
    assert check_some_issuer(disabled, [provider]) is None
    assert check_some_issuer(EmitesConfig(), []) is None
    off = ProviderConfig(name="focusnfe", base_url="http://127.0.0.1:9", token_env="X", enabled=False)
    result = check_some_issuer(disabled, [off])
    assert result is not None and result.level is Level.FAIL


def test_file_printer_path_expands_home_and_is_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    results = check_printer(PrinterConfig(uri="file:~/cupons/out.bin"))
    assert [r.level for r in results] == [Level.FAIL]  # ~/cupons does not exist (yet)
    (tmp_path / "cupons").mkdir()
    results = check_printer(PrinterConfig(uri="file:~/cupons/out.bin"))
    assert [r.level for r in results] == [Level.OK]
    assert "será criado" in results[0].message
    assert not (tmp_path / "cupons" / "out.bin").exists()  # the check left no file behind
