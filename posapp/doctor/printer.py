"""Checks of the receipt printer: device permissions, connection, status, a test page.

``posapp.printing`` is looked up lazily and by name: the doctor must still run, and say
"não verificado", on an install where printing is broken. Device I/O runs in a daemon
thread with a deadline, so a printer that never answers cannot hang the doctor.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote

from posapp.config import PrinterConfig
from posapp.doctor.result import CheckResult, Level, fail, ok, warn

PRINTER_TIMEOUT_S = 10.0

T = TypeVar("T")


def _run_with_timeout(fn: Callable[[], T], timeout_s: float) -> T:
    """Run blocking device I/O in a daemon thread so a dead printer cannot hang the doctor."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=target, name="doctor-printer", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]


def _local_path(uri: str) -> Path | None:
    """The path a ``serial:``/``file:`` URI names, read the way the printing package reads
    it (``file://``, percent-escapes, ``~``); ``None`` for other links."""
    scheme, _, rest = uri.strip().partition(":")
    scheme = scheme.lower()
    if scheme == "serial":
        return Path(rest.split("?", 1)[0])
    if scheme == "file":
        target = rest.removeprefix("//")
        head, sep, query = target.partition("?")
        if sep and all(part.split("=", 1)[0] == "write_timeout" for part in query.split("&") if part):
            target = head
        return Path(os.path.expanduser(unquote(target)))
    return None


def _device_permission(uri: str) -> CheckResult | None:
    """For ``serial:``/``file:`` device nodes: does it exist, may this user open it?"""
    path = _local_path(uri)
    if path is None:
        return None
    title = "Impressora"
    is_device = str(path).startswith("/dev/")
    if not is_device:
        parent = path.parent
        if path.exists() and not os.access(path, os.W_OK):
            return fail(title, f"Sem permissão de escrita em {path}.", "Ajuste as permissões do arquivo.")
        if not path.exists() and not (parent.is_dir() and os.access(parent, os.W_OK)):
            return fail(title, f"Não é possível criar {path}.", "Confira o caminho em [printer] uri.")
        return None
    if not path.exists():
        return fail(
            title,
            f"O dispositivo {path} não existe.",
            "Confira o cabo e se a impressora está ligada; "
            "liste as portas com 'ls /dev/ttyUSB* /dev/usb/lp*'.",
        )
    if not os.access(path, os.R_OK | os.W_OK):
        group = "dialout" if "tty" in path.name else "lp"
        return fail(
            title,
            f"Este usuário não tem permissão para usar {path}.",
            f"Adicione o usuário ao grupo {group} ('sudo usermod -aG {group} $USER'), saia e entre de novo "
            "na sessão (o instalador do posapp faz isso).",
        )
    return None


def _printing_api(name: str) -> Any | None:
    """``posapp.printing`` is optional here: another package, maybe absent in a partial install.

    Looked up by name so the doctor still runs (and says "não verificado") without it.
    """
    module_name, _, attr = name.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    return getattr(module, attr, None)


def _error_text(exc: BaseException) -> str:
    return str(getattr(exc, "user_message", None) or exc or type(exc).__name__)


def _status_verdict(status: Any) -> tuple[Level, str]:
    """Grade a ``PrinterStatus`` (``online``: bool or None, ``paper``: ok/low/out/unknown).

    "Unknown" (a link that cannot report, like a spooler queue or a file) is not a failure:
    it is what most USB set-ups answer, and printing still works.
    """
    online = getattr(status, "online", None)
    paper = str(getattr(status, "paper", "unknown") or "unknown")
    message = str(getattr(status, "message", "") or "")
    if paper == "out":
        return Level.FAIL, message or "sem papel"
    if online is False:
        return Level.FAIL, message or "a impressora não respondeu (desligada, tampa aberta ou com erro)"
    if paper == "low":
        return Level.WARN, message or "papel perto do fim"
    if online is None and paper == "unknown":
        return Level.OK, "conectada; " + (message or "esta ligação não informa o status da impressora")
    return Level.OK, message or "pronta"


def _silent_verdict(uri: str, connection: Any, status: Any) -> CheckResult | None:
    """A TCP or serial printer should answer ``DLE EOT``; when it stays silent the spool
    marks every receipt "não confirmado", so say it here first. Serial silence is a FAIL
    (wrong baud rate, or a cable without RX: nothing proves bytes arrive); on a network
    some print servers never answer, so it is a WARN there. Links that cannot answer at
    all (file, USB, spoolers) are judged by :func:`_status_verdict`."""
    if not getattr(connection, "answers_status", False):
        return None
    if getattr(status, "online", None) is not None or getattr(status, "paper", "unknown") != "unknown":
        return None
    title = "Impressora"
    if uri.strip().lower().startswith("serial:"):
        return fail(
            title,
            f"{uri}: a impressora não respondeu ao pedido de status; "
            "as impressões vão aparecer como não confirmadas.",
            "Confira a velocidade (baudrate) igual à da impressora, o controle de fluxo e se o cabo "
            "tem o fio de recepção (RX); imprima a página de autoteste da impressora para ver a velocidade.",
        )
    return warn(
        title,
        f"{uri}: conectada, mas a impressora não respondeu ao pedido de status; "
        "as impressões vão aparecer como não confirmadas.",
        "Confira se o endereço é a própria impressora (não um servidor de impressão) e se o status "
        "em tempo real (DLE EOT) está ativado na configuração dela.",
    )


def check_printer(printer: PrinterConfig, *, test_page: bool = False) -> list[CheckResult]:
    """Connection and status through ``posapp.printing``; a test page when asked."""
    title = "Impressora"
    uri = printer.uri
    if uri == "none" and not test_page:
        return [ok(title, 'Nenhuma impressora configurada (uri = "none"): os cupons não serão impressos.')]
    if uri == "preview" and not test_page:
        return [ok(title, 'Visualização na tela (uri = "preview"); nenhuma impressora física.')]
    permission = _device_permission(uri)
    if permission is not None:
        return [permission]
    open_connection = _printing_api("posapp.printing.connections.open_connection")
    if open_connection is None:
        return [
            warn(
                title,
                f"{uri}: não verificado (o módulo de impressão não está disponível nesta instalação).",
                "Atualize o posapp; enquanto isso, imprima um cupom de teste pela tela de vendas.",
            )
        ]
    path = _local_path(uri)
    if path is not None and not test_page and not path.exists():
        # Opening it would create the file: a check must leave the machine as it found it.
        return [ok(title, f"{uri}: o arquivo {path} será criado na primeira impressão.")]
    try:
        connection = _run_with_timeout(lambda: open_connection(uri), PRINTER_TIMEOUT_S)
    except Exception as exc:
        return [
            fail(
                title,
                f"{uri}: não foi possível conectar ({_error_text(exc)}).",
                "Confira se a impressora está ligada, o cabo/rede e o endereço em [printer] uri.",
            )
        ]
    results: list[CheckResult] = []
    try:
        try:
            status = _run_with_timeout(connection.status, PRINTER_TIMEOUT_S)
        except Exception as exc:
            results.append(
                fail(
                    title,
                    f"{uri}: a impressora não respondeu ao pedido de status ({_error_text(exc)}).",
                    "Ligue a impressora, feche a tampa e confira o cabo.",
                )
            )
            return results
        silent = _silent_verdict(uri, connection, status)
        if silent is not None:
            results.append(silent)
        else:
            level, text = _status_verdict(status)
            action = "" if level is Level.OK else "Confira papel, tampa e luzes de erro da impressora."
            results.append(CheckResult(title, level, f"{uri}: {text}.", action))
        if test_page:
            results.append(_print_test_page(connection, printer))
    finally:
        # Closing a half-dead port must not hide the real verdict.
        with contextlib.suppress(Exception):
            connection.close()
    return results


def _print_test_page(connection: Any, printer: PrinterConfig) -> CheckResult:
    title = "Página de teste"
    render_test_page = _printing_api("posapp.printing.render_test_page")
    options_type = _printing_api("posapp.printing.ReceiptOptions") or _printing_api(
        "posapp.printing.options.ReceiptOptions"
    )
    if render_test_page is None or options_type is None:
        return warn(title, "Não impressa (módulo de impressão sem página de teste).", "Atualize o posapp.")
    try:
        data = render_test_page(options_type.from_config(printer))
        _run_with_timeout(lambda: connection.write(data), PRINTER_TIMEOUT_S * 3)
    except Exception as exc:
        return fail(
            title, f"Falha ao imprimir: {_error_text(exc)}.", "Confira papel e conexão e tente de novo."
        )
    return ok(title, f"Enviada ({len(data)} bytes). Confira acentos (ç, ã, é), o QR code e o corte do papel.")
