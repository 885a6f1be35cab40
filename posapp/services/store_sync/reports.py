"""What the store sync tells its callers: the status bar's :class:`SyncState`, a round's
:class:`SyncReport` (the lines ``posapp store sync`` prints) and each remote cancel it handled."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from posapp.services.store_sync.remote_cancels import CancelHandled
from posapp.storeserver import settings as store_settings_server
from posapp.storeserver import shared
from posapp.storeserver.outbox import PushReport


@dataclass(frozen=True, slots=True)
class SyncState:
    """What the status bar shows."""

    connected: bool | None = None  # None: not tried yet
    to_send: int = 0  # journal events and audit rows not yet on the server (as last measured)
    last_ok_at: datetime | None = None
    last_error: str | None = None
    serie: int | None = None
    settings_problem: str | None = None  # the store's settings last pulled were refused
    settings_version: int = 0  # of the store's settings in force in this till's copy (0: none)

    @property
    def text(self) -> str:
        """Short, for the status bar (the whole story is :attr:`detail`)."""
        if self.connected is None:
            return "Loja: conectando…"
        if not self.connected:
            return f"Loja: offline, {self.to_send} a enviar" if self.to_send else "Loja: offline"
        if self.to_send:
            return f"Loja: enviando {self.to_send}"
        return "Loja: sincronizada"

    @property
    def detail(self) -> str:
        """The tooltip: what the state means for the cashier."""
        if self.connected is None:
            return "Conectando ao servidor da loja."
        if not self.connected:
            pending = f" {self.to_send} registro(s) esperam para subir." if self.to_send else ""
            why = f" ({self.last_error})" if self.last_error else ""
            return (
                "Servidor da loja fora do ar: o caixa continua vendendo sozinho e envia tudo quando ele "
                f"voltar.{pending}{why}"
            )
        refused = (
            f" Configurações da loja recusadas (o caixa segue com as anteriores): {self.settings_problem}"
            if self.settings_problem
            else ""
        )
        if self.to_send:
            return f"Enviando {self.to_send} registro(s) ao servidor da loja.{refused}"
        return f"Tudo o que este caixa registrou está no servidor da loja.{refused}"


@dataclass(frozen=True, slots=True)
class SyncReport:
    pushed: PushReport = field(default_factory=PushReport)
    pulled: tuple[shared.PullReport, ...] = ()
    cancels: tuple[CancelHandled, ...] = ()
    serie: int | None = None
    settings: store_settings_server.SettingsPull | None = None

    def lines(self) -> list[str]:
        p = self.pushed
        out = [
            f"enviados: {p.events} evento(s) de {p.sales} venda(s), {p.documents} documento(s), "
            f"{p.sale_audit + p.store_audit} registro(s) de auditoria, {p.cash} movimento(s) de caixa"
        ]
        for pull in self.pulled:
            what = {"products": "produtos", "operators": "operadores", "ibpt": "tabela IBPT"}.get(
                pull.table, pull.table
            )
            line = f"recebidos ({what}): {pull.upserted} atualizado(s), {pull.deleted} removido(s)"
            if pull.refused:
                line += f", {len(pull.refused)} recusado(s): {'; '.join(pull.refused[:5])}"
            out.append(line)
        if self.settings is not None:
            out.append(_settings_line(self.settings))
        for handled in self.cancels:
            out.append(f"cancelamento pedido por outro caixa, venda {handled.sale_id}: {handled.message}")
        if self.serie is not None:
            out.append(f"série deste caixa: {self.serie}")
        return out


def _settings_line(pull: store_settings_server.SettingsPull) -> str:
    if pull.refused:
        return f"configurações da loja RECUSADAS (o caixa segue com as anteriores): {pull.refused}"
    if pull.withdrawn:
        return "configurações da loja retiradas: o caixa volta ao seu arquivo de configuração"
    if pull.applied:
        return f"configurações da loja recebidas: versão {pull.version}"
    if pull.version:
        return f"configurações da loja: versão {pull.version} em vigor"
    return "configurações da loja: nenhuma publicada (vale o arquivo deste caixa)"
