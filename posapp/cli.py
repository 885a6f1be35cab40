"""The command line (README, "Issue and cancel from the command line"): a stable contract;
tests and support scripts rely on it.

Exit codes: 0 done; 2 bad input (nothing sent, nothing stored); 3 rejected by the issuer
(stored); 4 no issuer reachable (stored as QUEUED); 5 outcome unknown (stored as IN_DOUBT);
6 cancel refused locally because the window has closed (nothing sent); 7 printer failure
(``print`` commands only; a sale's fiscal state never depends on the printer).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from posapp import __version__
from posapp.cli_kit import PIN_ENV, CliKit
from posapp.errors import PosappError, user_text

if TYPE_CHECKING:
    from posapp.config import Config

log = logging.getLogger("posapp.cli")


def default_data_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("posapp", appauthor=False))


def default_config_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_config_dir("posapp", appauthor=False)) / "posapp.toml"


def _load_config(args: argparse.Namespace) -> Config:
    from posapp.config import load_config

    path: Path | None = getattr(args, "config", None)
    if path is None:
        candidate = default_config_path()
        path = candidate if candidate.exists() else None
    return load_config(path)


def _data_dir(args: argparse.Namespace) -> Path:
    return Path(args.data_dir) if getattr(args, "data_dir", None) else default_data_dir()


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(type(value).__name__)


def _emit_json(obj: dict[str, Any], out: TextIO) -> None:
    out.write(json.dumps(obj, default=_json_default, ensure_ascii=False) + "\n")


def _error(message: str | BaseException, *, as_json: bool, status: str = "error", **extra: Any) -> None:
    """Tell the person what failed: a text, or an exception as :func:`user_text` words it
    (Portuguese; an unexpected one as a reference that the log carries with the detail)."""
    if isinstance(message, BaseException):
        message = user_text(message, logger=log)
    if as_json:
        _emit_json({"status": status, "errors": [message], **extra}, sys.stdout)
    else:
        print(f"erro: {message}", file=sys.stderr)


# -- running a service, the manager check (lent to every command group) --------------------


def _run_service(args: argparse.Namespace, body: Callable[[Any], Any], *, with_printer: bool = False) -> int:
    """Build the service, run ``body(service)`` on a fresh loop, close everything."""
    from posapp.app import build_service

    config = _load_config(args)
    emites = getattr(args, "emites", None)
    printer = getattr(args, "printer", None)
    service = build_service(
        config, _data_dir(args), emites_address=emites, printer_uri=printer, with_printer=with_printer
    )

    async def main() -> int:
        try:
            await service.start()
            result: int = await body(service)
            return result
        finally:
            await service.aclose()

    import asyncio

    return asyncio.run(main())


def _ask_pin(args: argparse.Namespace) -> str | None:
    """The manager's PIN: ``POSAPP_PIN`` for scripts, else asked on a terminal (not echoed)."""
    import os

    pin = os.environ.get(PIN_ENV)
    if pin:
        return pin
    if sys.stdin is not None and sys.stdin.isatty():
        import getpass

        return getpass.getpass("PIN do gerente: ")
    return None


def _authorize(args: argparse.Namespace) -> Any:
    """The same manager check as the GUI's (``--operator`` and the manager's PIN), or the
    login as given on a till that has no operators yet. Raises a PosappError when refused."""
    from posapp.app import open_manager_gate

    gate, close = open_manager_gate(_data_dir(args))
    try:
        pin = _ask_pin(args) if gate.required() else None
        return gate.authorize(args.operator, pin)
    finally:
        close()


# -- other commands (implemented in their packages) ----------------------------------------


def cmd_sim(args: argparse.Namespace) -> int:
    if args.port is None:
        args.port = 3434 if args.kind == "emites" else 0
    if args.kind == "emites":
        from posapp.sim.emites import main_sim_emites

        return main_sim_emites(args)
    if args.kind == "focusnfe":
        from posapp.sim.focusnfe import main_sim_focusnfe

        return main_sim_focusnfe(args)
    from posapp.sim.integranotas import main_sim_integranotas

    return main_sim_integranotas(args)


def cmd_print_danfe(args: argparse.Namespace) -> int:
    from posapp.printing.commands import print_danfe_command

    def load_by_chave(chave: str) -> tuple[bytes | None, bytes | None]:
        from posapp.domain.documents import parse_chave
        from posapp.journal.store import Journal

        journal = Journal.in_dir(_data_dir(args))
        try:
            row = journal.find_by_chave(parse_chave(chave).digits)
            return journal.document(row.sale_id, "xml"), journal.document(row.sale_id, "danfe_pdf")
        finally:
            journal.close()

    return print_danfe_command(args, load_by_chave)


def cmd_doctor(args: argparse.Namespace) -> int:
    from posapp.doctor import run_doctor

    return run_doctor(args.config, _data_dir(args), test_page=args.test_page, out=sys.stdout)


def cmd_gui(args: argparse.Namespace) -> int:
    from posapp.app import run_gui

    return run_gui(_load_config(args), _data_dir(args), config_path=getattr(args, "config", None))


def cmd_demo(args: argparse.Namespace) -> int:
    from posapp.app import run_demo

    return run_demo(args)


# -- parser -------------------------------------------------------------------------------


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The whole command line; given ``argv``, only the command group it names (a process per
    sale should neither build nor import thirty commands it will not run; ``posapp`` alone,
    the GUI, needs none). Asking for help, or a word no group knows, gets every group."""
    parser = argparse.ArgumentParser(prog="posapp", description="Frente de caixa com emissão de NFC-e.")
    parser.add_argument("--version", action="version", version=f"posapp {__version__}")
    parser.add_argument("--config", type=Path, help="arquivo de configuração TOML")
    parser.add_argument("--data-dir", help="pasta de dados (diário de vendas)")
    parser.set_defaults(func=cmd_gui)
    sub = parser.add_subparsers(dest="command")

    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: an option given before the subcommand is not reset by the subparser's default.
    common.add_argument("--data-dir", default=argparse.SUPPRESS, help="pasta de dados (diário de vendas)")
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS, help="arquivo de configuração TOML")
    common.add_argument("--json", action="store_true", help="imprime um objeto JSON")

    wanted = _command_word(sys.argv[1:] if argv is None else argv)
    if wanted is None:
        for add in dict.fromkeys(_GROUPS.values()):  # backup/restore and store/catalog share one
            add(sub, common)
    elif wanted:
        _GROUPS[wanted](sub, common)
    return parser


def _command_word(argv: Sequence[str]) -> str | None:
    """The command group ``argv`` names (``nfce`` in ``--data-dir D nfce emit X``); ``""`` when
    it names none (the GUI); ``None`` for help or an unknown word (every group is needed)."""
    words = iter(argv)
    for word in words:
        if word in ("-h", "--help"):
            return None
        if word in _TOP_OPTIONS_WITH_VALUE:
            next(words, None)  # its value, even a word like "store"
        elif not word.startswith("-"):
            return word if word in _GROUPS else None
    return ""


_TOP_OPTIONS_WITH_VALUE = ("--config", "--data-dir")


def _add_demo(sub: Any, common: argparse.ArgumentParser) -> None:
    demo = sub.add_parser("demo", help="GUI com simulador do Emites-Client e impressora na tela")
    demo.add_argument(
        "--scenario",
        choices=["normal", "down", "slow", "not-answering", "rejecting"],
        default="normal",
        help="como o emissor simulado começa: normal, fora do ar (down), lento (slow), "
        "sem resposta (not-answering) ou rejeitando (rejecting); Ctrl+Shift+D muda na tela",
    )
    demo.set_defaults(func=cmd_demo)


def _add_sim(sub: Any, common: argparse.ArgumentParser) -> None:
    sim = sub.add_parser("sim", help="simuladores de loopback dos emissores")
    sim.add_argument("kind", choices=["emites", "focusnfe", "integranotas"])
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument(
        "--port",
        type=int,
        default=None,
        help="porta (padrão: 3434 para emites, como [emites] port; livre para os demais)",
    )
    sim.add_argument("--port-file", type=Path)
    sim.add_argument(
        "--token", help="token aceito pelos simuladores de provedores (padrão: $POSAPP_SIM_TOKEN)"
    )
    sim.add_argument(
        "--crt",
        type=int,
        choices=[1, 2, 3, 4],
        default=1,
        help="regime tributário do emitente nos simuladores de provedores (1 Simples ... 3 normal)",
    )
    sim.set_defaults(func=cmd_sim)


def _add_nfce(sub: Any, common: argparse.ArgumentParser) -> None:
    from posapp.cli_nfce import add_nfce_commands  # a sale's life: emit, cancel, list...

    add_nfce_commands(sub, common, _kit())


def _add_print(sub: Any, common: argparse.ArgumentParser) -> None:
    printing = sub.add_parser("print", help="impressão")
    print_sub = printing.add_subparsers(dest="print_command", required=True)
    danfe = print_sub.add_parser("danfe", help="imprime um DANFE NFC-e")
    source = danfe.add_mutually_exclusive_group(required=True)
    source.add_argument("--pdf", type=Path)
    source.add_argument("--xml", type=Path)
    source.add_argument("--chave")
    danfe.add_argument("--printer", required=True, metavar="URI")
    danfe.add_argument("--paper", type=int, choices=[58, 80], default=80)
    danfe.add_argument("--mode", choices=["native", "raster"], default=None)
    danfe.add_argument("--data-dir", default=argparse.SUPPRESS)
    danfe.set_defaults(func=cmd_print_danfe)


def _add_doctor(sub: Any, common: argparse.ArgumentParser) -> None:
    doctor = sub.add_parser("doctor", help="confere configuração, emissores e impressora")
    doctor.add_argument("--config", type=Path, default=argparse.SUPPRESS)
    doctor.add_argument("--data-dir", default=argparse.SUPPRESS)
    doctor.add_argument("--test-page", action="store_true", help="imprime uma página de teste")
    doctor.set_defaults(func=cmd_doctor)


def _add_fiscal(sub: Any, common: argparse.ArgumentParser) -> None:
    from posapp.cli_fiscal import add_fiscal_commands  # posapp fiscal (issue 15)

    add_fiscal_commands(sub, common, _kit())


def _add_backup(sub: Any, common: argparse.ArgumentParser) -> None:
    from posapp.cli_backup import add_backup_commands  # backup, restore (issue 15)

    add_backup_commands(sub, common, _kit())


def _add_store(sub: Any, common: argparse.ArgumentParser) -> None:
    from posapp.cli_store import add_store_commands  # store server, catalog (issue 16)

    add_store_commands(sub, common, _kit())


def _add_taxes(sub: Any, common: argparse.ArgumentParser) -> None:
    from posapp.cli_taxes import add_tax_commands  # the IBPT table (issue 14)

    add_tax_commands(sub, common, _kit())


# Each top-level command and what registers it (``_add_backup`` registers backup, restore and
# archive; ``_add_store`` store and catalog). tests/test_cli_parser.py keeps it complete.
_GROUPS: dict[str, Callable[[Any, argparse.ArgumentParser], None]] = {
    "demo": _add_demo,
    "sim": _add_sim,
    "nfce": _add_nfce,
    "print": _add_print,
    "doctor": _add_doctor,
    "fiscal": _add_fiscal,
    "backup": _add_backup,
    "restore": _add_backup,
    "archive": _add_backup,
    "store": _add_store,
    "catalog": _add_store,
    "ibpt": _add_taxes,
}


def _kit() -> CliKit:
    """The helpers every command group gets (posapp/cli_kit.py)."""
    return CliKit(
        data_dir=_data_dir,
        load_config=_load_config,
        run_service=_run_service,
        authorize=_authorize,
        error=_error,
        emit_json=_emit_json,
    )


def run() -> int:
    """The process entry point (console script, ``python -m posapp``, the frozen app):
    logging to the user's log folder and the crash handler, then :func:`main`.

    Tests call :func:`main` directly, so they do not install process-wide hooks.
    ``POSAPP_LOG_DIR`` overrides the log folder (support, and the test suite's subprocesses).
    A reader that closes the pipe early (``posapp nfce list | head -1``) ends any command
    quietly with exit code 141 (128 + SIGPIPE, what a shell reports for a tool whose reader
    went away), never a traceback or a crash report. Whatever the command did is done (a
    sale issued is in the journal); only its output was cut.
    """
    import os

    # posapp uses no pydantic plugin; without this, the first model pydantic builds scans the
    # metadata of every installed package for one (3 ms of every start, bench_startup.py).
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

    def output_cut() -> int:
        # Point stdout at the null device so the interpreter's last flush cannot fail again.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass
        return 141

    try:
        args = build_parser().parse_args()  # --version and --help end here, before any set-up
    except SystemExit:
        try:
            sys.stdout.flush()
        except BrokenPipeError:
            return output_cut()
        raise

    from posapp.crash import install_crash_handler
    from posapp.logging_setup import setup_logging

    log_dir = os.environ.get("POSAPP_LOG_DIR")
    log_path = setup_logging(Path(log_dir) if log_dir else None)
    install_crash_handler(log_path)
    try:
        code = dispatch(args)
        sys.stdout.flush()  # here, not at exit, so that a closed pipe is caught below
    except BrokenPipeError:
        log.info("stdout closed by the reader (broken pipe): output cut")
        return output_cut()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    return dispatch(build_parser(argv).parse_args(argv))


def dispatch(args: argparse.Namespace) -> int:
    """Run the parsed command; known failures become a Portuguese message and an exit code."""
    from posapp.config import ConfigError
    from posapp.domain.lifecycle import ExitCode

    try:
        return int(args.func(args))
    except ConfigError as exc:
        print(f"erro: {user_text(exc, logger=log)}", file=sys.stderr)
        return ExitCode.BAD_INPUT
    except PosappError as exc:
        # A known failure outside a sale's outcome (journal unreadable, lock file, printer
        # setup): say what to do, without a traceback. The log has the details.
        log.error("%s", exc)
        print(f"erro: {user_text(exc, logger=log)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(run())
