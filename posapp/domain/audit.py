"""What the audit trail records: the protected actions, and one row as the journal and the
store write it. Sale actions (cancel, resolve, void, resend, reprint) are written by the
journal in the same transaction as the sale's event; the rest (logins, cash, settings) by
the store database."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    OVERRIDE_FAILED = "override_failed"
    VOID_LINE = "void_line"
    ABORT_SALE = "abort_sale"
    CANCEL_SALE = "cancel_sale"
    CANCEL_REFUSED = "cancel_refused"
    REPRINT = "reprint"
    RESEND = "resend"
    RESOLVE = "resolve"
    OPENING_FLOAT = "opening_float"
    SANGRIA = "sangria"
    SUPRIMENTO = "suprimento"
    DAY_CLOSE = "day_close"
    SETTINGS = "settings"
    CATALOG_IMPORT = "catalog_import"
    OPERATOR_CHANGE = "operator_change"
    HISTORY_OPEN = "history_open"
    DISCOUNT = "discount"
    INUTILIZACAO = "inutilizacao"
    FISCAL_EXPORT = "fiscal_export"

    @property
    def label(self) -> str:
        return _LABELS.get(self, self.value)


_LABELS = {
    Action.LOGIN: "Entrada de operador",
    Action.LOGIN_FAILED: "PIN incorreto",
    Action.LOGOUT: "Saída de operador",
    Action.OVERRIDE_FAILED: "Autorização de gerente recusada",
    Action.VOID_LINE: "Cancelamento de item",
    Action.ABORT_SALE: "Venda descartada",
    Action.CANCEL_SALE: "Cancelamento de NFC-e",
    Action.CANCEL_REFUSED: "Cancelamento recusado",
    Action.REPRINT: "Reimpressão",
    Action.RESEND: "Reenvio",
    Action.RESOLVE: "Venda em dúvida conferida",
    Action.OPENING_FLOAT: "Abertura de caixa",
    Action.SANGRIA: "Sangria",
    Action.SUPRIMENTO: "Suprimento",
    Action.DAY_CLOSE: "Fechamento do dia",
    Action.SETTINGS: "Configurações alteradas",
    Action.CATALOG_IMPORT: "Importação de produtos",
    Action.OPERATOR_CHANGE: "Cadastro de operador",
    Action.HISTORY_OPEN: "Histórico de vendas aberto",
    Action.DISCOUNT: "Desconto",
    Action.INUTILIZACAO: "Inutilização de numeração",
    Action.FISCAL_EXPORT: "Exportação fiscal do mês",
}


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """An audit row to write: what, who asked, who authorized (a manager), and why."""

    action: Action
    operator: str | None
    authorized_by: str | None = None
    detail: str = ""
