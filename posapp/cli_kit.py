"""What :mod:`posapp.cli` lends every command group (``cli_nfce``, ``cli_fiscal``,
``cli_backup``, ``cli_store``, ``cli_taxes``): one :class:`CliKit` with the data folder, the
configuration, a service run on a fresh loop, the manager check and the error and JSON
writers, so that the groups word things alike and none imports the composition root.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from posapp.config import Config

#: Where a script gives the manager's PIN (``posapp nfce cancel|resolve``, ``posapp fiscal
#: inutilizar``, ``posapp store cancel``); a terminal asks for it instead.
PIN_ENV = "POSAPP_PIN"


class CliKit:
    """A plain slotted class, not a dataclass: ``posapp nfce emit``'s start-up is measured,
    and a dataclass costs its creation there."""

    __slots__ = ("authorize", "data_dir", "emit_json", "error", "load_config", "run_service")

    def __init__(
        self,
        *,
        data_dir: Callable[[argparse.Namespace], Path],
        load_config: Callable[[argparse.Namespace], Config],
        run_service: Callable[..., int],
        authorize: Callable[[argparse.Namespace], Any],
        error: Callable[..., None],
        emit_json: Callable[[dict[str, Any], TextIO], None],
    ) -> None:
        self.data_dir = data_dir
        self.load_config = load_config
        self.run_service = run_service
        self.authorize = authorize
        self.error = error
        self.emit_json = emit_json

    def manager(self, args: argparse.Namespace) -> Any | None:
        """The manager check of a protected command (``--operator`` and the manager's PIN);
        ``None`` when refused, the refusal written (status ``not_authorized``, exit 2)."""
        from posapp.operators.errors import OperatorError

        try:
            return self.authorize(args)
        except OperatorError as exc:
            self.error(exc.user_message, as_json=args.json, status="not_authorized")
            return None
