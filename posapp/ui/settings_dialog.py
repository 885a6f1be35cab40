"""F11 (manager): settings — issuer, text policy, printer (with a test print), store UF
and cancel window, this terminal's scanner and scale labels, the catalog import, and
operators.

Nothing is applied until "Salvar": the dialog then hands back a new
:class:`~posapp.config.Config` and :class:`TerminalSettings`, validated by their own
models (a bad value names its field and keeps the dialog open).
"""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from posapp.catalog.csv_import import BASE_COLUMNS, import_csv
from posapp.catalog.products import TAX_COLUMNS
from posapp.config import Config, ProviderConfig, masked_token_from_env
from posapp.domain.audit import Action
from posapp.domain.cancel import MAX_CANCEL_WINDOW_MIN
from posapp.domain.documents import UF_CODES
from posapp.domain.taxes import Crt
from posapp.errors import PosappError
from posapp.operators.accounts import Role
from posapp.ui.context import AppContext
from posapp.ui.errors import error_text
from posapp.ui.qt import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
    tr,
)
from posapp.ui.tasks import async_slot
from posapp.ui.terminal_settings import BAUD_RATES, TerminalSettings
from posapp.ui.widgets import key_button, set_role

log = logging.getLogger("posapp.ui")

CODEPAGES = ("cp860", "cp850", "cp858", "cp437", "cp1252")


def _combo(parent: QWidget, values: tuple[Any, ...], current: Any) -> QComboBox:
    box = QComboBox(parent)
    for value in values:
        box.addItem(str(value), value)
    index = box.findData(current)
    box.setCurrentIndex(max(index, 0))
    return box


def _provider_line(provider: ProviderConfig) -> str:
    """Name, address and the token *masked* (never the token itself)."""
    masked = masked_token_from_env(provider)
    if masked is not None:
        where = tr("token {masked} (variável {env})").format(masked=masked, env=provider.token_env)
    else:
        where = tr("token no chaveiro do sistema (confira com 'posapp doctor')")
    return f"{provider.name} — {provider.base_url} — {where}"


def _percent_text(value: Decimal) -> str:
    return format(value.normalize(), "f").replace(".", ",")


def _spin(parent: QWidget, low: int, high: int, value: int) -> QSpinBox:
    """A spin box whose range always holds ``value``: a value from the file outside the
    usual range must not be changed just by opening and saving the dialog."""
    box = QSpinBox(parent)
    box.setRange(min(low, value), max(high, value))
    box.setValue(value)
    return box


def _seconds(box: QSpinBox, original: float) -> float:
    """The spin box's whole seconds, or ``original`` (say 2.5) if the user left it alone."""
    return original if box.value() == int(original) else float(box.value())


class SettingsDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.new_config: Config | None = None
        self.new_terminal: TerminalSettings | None = None
        self.setWindowTitle(tr("Configurações (F11)"))
        config, terminal = ctx.config, ctx.terminal
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget(self)
        layout.addWidget(self.tabs)

        issuer = QWidget(self)
        form = QFormLayout(issuer)
        self.emites_enabled = QCheckBox(tr("Usar o Emites-Client"), issuer)
        self.emites_enabled.setChecked(config.emites.enabled)
        self.emites_host = QLineEdit(config.emites.host, issuer)
        self.emites_port = _spin(issuer, 1, 65535, config.emites.port)
        self.connect_timeout = _spin(issuer, 1, 120, int(config.emites.connect_timeout_s))
        self.response_timeout = _spin(issuer, 5, 600, int(config.emites.response_timeout_s))
        self.text_policy = _combo(issuer, ("latin1", "ascii"), config.emites.text_policy)
        form.addRow("", self.emites_enabled)
        form.addRow(tr("Endereço do Emites-Client"), self.emites_host)
        form.addRow(tr("Porta"), self.emites_port)
        form.addRow(tr("Tempo para conectar (s)"), self.connect_timeout)
        form.addRow(tr("Tempo para a resposta (s)"), self.response_timeout)
        form.addRow(tr("Texto (acentos)"), self.text_policy)
        if not config.providers:
            form.addRow(tr("Provedores on-line"), QLabel(tr("nenhum (no arquivo de configuração)"), issuer))
        for provider in config.providers:
            form.addRow(tr("Provedor on-line"), QLabel(_provider_line(provider), issuer))
        self.tabs.addTab(issuer, tr("Emissor"))

        printer = QWidget(self)
        form = QFormLayout(printer)
        self.printer_uri = QLineEdit(config.printer.uri, printer)
        self.printer_uri.setToolTip(
            "usb:VID:PID · serial:/dev/ttyUSB0?baudrate=115200 · tcp:HOST:9100 · preview"
        )
        self.paper = _combo(printer, (80, 58), config.printer.paper_mm)
        self.mode = _combo(printer, ("native", "raster"), config.printer.mode)
        self.codepage = _combo(printer, CODEPAGES, config.printer.codepage)
        form.addRow(tr("Impressora (URI)"), self.printer_uri)
        form.addRow(tr("Papel (mm)"), self.paper)
        form.addRow(tr("Modo do DANFE"), self.mode)
        form.addRow(tr("Página de código"), self.codepage)
        self.test_button = key_button(
            tr("Imprimir teste (impressora salva)"), "F5", self.test_print, parent=self
        )
        self.test_button.setAutoDefault(False)
        form.addRow("", self.test_button)
        self.test_status = QLabel("", printer)
        self.test_status.setWordWrap(True)
        form.addRow("", self.test_status)
        self.tabs.addTab(printer, tr("Impressora"))

        store = QWidget(self)
        form = QFormLayout(store)
        self.uf = _combo(store, tuple(sorted(UF_CODES)), config.store.uf)
        # The tax regime decides CSOSN or CST for every item (SEFAZ rejects the other).
        self.crt = QComboBox(store)
        for regime in Crt:
            self.crt.addItem(f"{int(regime)} - {regime.label}", int(regime))
        self.crt.setCurrentIndex(max(self.crt.findData(config.store.crt), 0))
        # The legal window is 30 minutes: a state may shorten it, nothing lengthens it.
        self.cancel_window = _spin(store, 1, MAX_CANCEL_WINDOW_MIN, config.nfce.cancel_window_min)
        self.safety_margin = _spin(store, 0, 600, config.nfce.cancel_safety_margin_s)
        self.serie = _spin(store, 1, 889, config.nfce.serie)
        form.addRow(tr("UF da loja"), self.uf)
        form.addRow(tr("Regime tributário (CRT)"), self.crt)
        form.addRow(tr("Prazo de cancelamento (min)"), self.cancel_window)
        form.addRow(tr("Margem de segurança (s)"), self.safety_margin)
        form.addRow(tr("Série da NFC-e"), self.serie)
        till = QLabel(ctx.till_id or "—", store)
        till.setToolTip(tr("Identidade deste caixa: vai em toda referência enviada aos emissores."))
        form.addRow(tr("Identidade do caixa"), till)
        self.tabs.addTab(store, tr("Loja"))

        term = QWidget(self)
        form = QFormLayout(term)
        self.scanner_port = QLineEdit(terminal.scanner_port or "", term)
        self.scanner_port.setPlaceholderText(tr("vazio: leitor como teclado (USB HID)"))
        self.scanner_baud = _combo(term, BAUD_RATES, terminal.scanner_baudrate)
        scale = terminal.scale
        self.scale_enabled = QCheckBox(tr("Ler etiquetas de balança"), term)
        self.scale_enabled.setChecked(scale.enabled)
        self.scale_prefix = QLineEdit(scale.prefix, term)
        self.scale_code_start = _spin(term, 1, 11, scale.code_start)
        self.scale_code_length = _spin(term, 1, 10, scale.code_length)
        self.scale_value_start = _spin(term, 1, 11, scale.value_start)
        self.scale_value_length = _spin(term, 1, 10, scale.value_length)
        self.scale_kind = QComboBox(term)
        self.scale_kind.addItem(tr("preço (centavos)"), "price")
        self.scale_kind.addItem(tr("peso (gramas)"), "weight")
        self.scale_kind.setCurrentIndex(0 if scale.kind == "price" else 1)
        self.manager_void = QCheckBox(tr("Cancelar item exige gerente"), term)
        self.manager_void.setChecked(terminal.manager_for_void_line)
        self.manager_abort = QCheckBox(tr("Descartar venda exige gerente"), term)
        self.manager_abort.setChecked(terminal.manager_for_abort)
        self.manager_cash = QCheckBox(tr("Sangria/suprimento exigem gerente"), term)
        self.manager_cash.setChecked(terminal.manager_for_cash)
        self.discount_cashier = QLineEdit(_percent_text(terminal.discount_limit_cashier), term)
        self.discount_manager = QLineEdit(_percent_text(terminal.discount_limit_manager), term)
        for limit in (self.discount_cashier, self.discount_manager):
            limit.setMaxLength(6)
            limit.setToolTip(
                tr("Percentual do item ou da venda; acima do limite do caixa pede-se o PIN do gerente")
            )
        form.addRow(tr("Leitor serial (porta)"), self.scanner_port)
        form.addRow(tr("Velocidade (baud)"), self.scanner_baud)
        form.addRow("", self.scale_enabled)
        form.addRow(tr("Prefixo da etiqueta"), self.scale_prefix)
        form.addRow(
            tr("Código: posição / dígitos"), self._pair(term, self.scale_code_start, self.scale_code_length)
        )
        form.addRow(
            tr("Valor: posição / dígitos"), self._pair(term, self.scale_value_start, self.scale_value_length)
        )
        form.addRow(tr("A etiqueta traz"), self.scale_kind)
        form.addRow("", self.manager_void)
        form.addRow("", self.manager_abort)
        form.addRow("", self.manager_cash)
        form.addRow(tr("Desconto sem gerente (%)"), self.discount_cashier)
        form.addRow(tr("Desconto máximo (%, 100: sem limite)"), self.discount_manager)
        self.tabs.addTab(term, tr("Terminal"))

        catalog = QWidget(self)
        box = QVBoxLayout(catalog)
        columns = QLabel(
            tr("Colunas do CSV: ")
            + ", ".join(BASE_COLUMNS)
            + tr("; tributos (opcionais): ")
            + ", ".join(TAX_COLUMNS),
            catalog,
        )
        columns.setWordWrap(True)  # 26 column names: wrapped to the dialog, not widening it
        box.addWidget(columns)
        row = QHBoxLayout()
        self.csv_path = QLineEdit(catalog)
        self.csv_path.setPlaceholderText(tr("caminho do arquivo .csv"))
        browse = QPushButton(tr("Escolher…"), catalog)
        browse.setAutoDefault(False)
        browse.clicked.connect(self._browse)
        self.import_button = QPushButton(tr("Importar"), catalog)
        self.import_button.setAutoDefault(False)
        self.import_button.clicked.connect(self.import_catalog)
        row.addWidget(self.csv_path, 1)
        row.addWidget(browse)
        row.addWidget(self.import_button)
        box.addLayout(row)
        self.import_report = QPlainTextEdit(catalog)
        self.import_report.setReadOnly(True)
        box.addWidget(self.import_report)
        self.tabs.addTab(catalog, tr("Produtos"))

        people = QWidget(self)
        box = QVBoxLayout(people)
        self.operator_list = QPlainTextEdit(people)
        self.operator_list.setReadOnly(True)
        box.addWidget(self.operator_list)
        form = QFormLayout()
        self.new_login = QLineEdit(people)
        self.new_name = QLineEdit(people)
        self.new_role = QComboBox(people)
        self.new_role.addItem(tr(Role.CASHIER.label), Role.CASHIER.value)
        self.new_role.addItem(tr(Role.MANAGER.label), Role.MANAGER.value)
        self.new_pin = QLineEdit(people)
        self.new_pin.setEchoMode(QLineEdit.EchoMode.Password)
        add = QPushButton(tr("Cadastrar operador"), people)
        add.setAutoDefault(False)
        add.clicked.connect(self.add_operator)
        form.addRow(tr("Login"), self.new_login)
        form.addRow(tr("Nome"), self.new_name)
        form.addRow(tr("Função"), self.new_role)
        form.addRow(tr("PIN"), self.new_pin)
        form.addRow("", add)
        box.addLayout(form)
        self.tabs.addTab(people, tr("Operadores"))

        self.error = QLabel("", self)
        self.error.setWordWrap(True)
        set_role(self.error, "error")
        layout.addWidget(self.error)
        row = QHBoxLayout()
        back = QPushButton(tr("Voltar (Esc)"), self)
        back.setAutoDefault(False)
        back.clicked.connect(self.reject)
        save = key_button(tr("Salvar"), "Ctrl+S", self.save, parent=self, role="primary")
        save.setAutoDefault(False)
        row.addWidget(back)
        row.addStretch(1)
        row.addWidget(save)
        layout.addLayout(row)
        self.setMinimumSize(820, 620)
        self.refresh_operators()

    @staticmethod
    def _pair(parent: QWidget, first: QWidget, second: QWidget) -> QWidget:
        holder = QWidget(parent)
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(first)
        row.addWidget(second)
        return holder

    # -- building the new settings -------------------------------------------------------

    def build(self) -> tuple[Config, TerminalSettings]:
        """The edited values as validated models (raises pydantic ``ValidationError``)."""
        base = self.ctx.config.model_dump()
        base["emites"].update(
            enabled=self.emites_enabled.isChecked(),
            host=self.emites_host.text().strip(),
            port=self.emites_port.value(),
            connect_timeout_s=_seconds(self.connect_timeout, self.ctx.config.emites.connect_timeout_s),
            response_timeout_s=_seconds(self.response_timeout, self.ctx.config.emites.response_timeout_s),
            text_policy=self.text_policy.currentData(),
        )
        base["printer"].update(
            uri=self.printer_uri.text().strip() or "none",
            paper_mm=self.paper.currentData(),
            mode=self.mode.currentData(),
            codepage=self.codepage.currentData(),
        )
        base["store"].update(uf=self.uf.currentData(), crt=self.crt.currentData())
        base["nfce"].update(
            cancel_window_min=self.cancel_window.value(),
            cancel_safety_margin_s=self.safety_margin.value(),
            serie=self.serie.value(),
        )
        config = Config.model_validate(base)
        terminal = TerminalSettings.model_validate(
            {
                **self.ctx.terminal.model_dump(),
                "scanner_port": self.scanner_port.text().strip() or None,
                "scanner_baudrate": self.scanner_baud.currentData(),
                "scale": {
                    "enabled": self.scale_enabled.isChecked(),
                    "prefix": self.scale_prefix.text().strip(),
                    "code_start": self.scale_code_start.value(),
                    "code_length": self.scale_code_length.value(),
                    "value_start": self.scale_value_start.value(),
                    "value_length": self.scale_value_length.value(),
                    "kind": self.scale_kind.currentData(),
                },
                "manager_for_void_line": self.manager_void.isChecked(),
                "manager_for_abort": self.manager_abort.isChecked(),
                "manager_for_cash": self.manager_cash.isChecked(),
                "discount_limit_cashier": self.discount_cashier.text().strip().replace(",", "."),
                "discount_limit_manager": self.discount_manager.text().strip().replace(",", "."),
            }
        )
        return config, terminal

    def save(self) -> None:
        try:
            self.new_config, self.new_terminal = self.build()
        except ValidationError as exc:
            self.error.setText(
                "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
            )
            return
        self.accept()

    # -- actions inside the dialog ---------------------------------------------------------

    @async_slot
    async def test_print(self) -> None:
        self.test_status.setText(tr("Imprimindo teste…"))
        try:
            from posapp.printing.render import render_test_page

            data = render_test_page(self.ctx.config.printer)
        except Exception as exc:  # the printing package is optional at this point
            self.test_status.setText(
                tr("Página de teste indisponível: ") + error_text(exc, "rendering the test page failed")
            )
            return
        try:
            result = await self.ctx.service.print_bytes(data, kind="test")
        except PosappError as exc:
            self.test_status.setText(tr("Falha: ") + error_text(exc, "test print failed"))
            return
        self.ctx.last_print_ok, self.ctx.last_print_error = result.ok, result.error
        self.test_status.setText(tr("Teste enviado.") if result.ok else tr("Falha: ") + (result.error or ""))

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, tr("Arquivo de produtos"), "", "CSV (*.csv);;*")
        if path:
            self.csv_path.setText(path)

    @async_slot
    async def import_catalog(self) -> None:
        text = self.csv_path.text().strip()
        if not text:
            return
        self.import_button.setEnabled(False)
        self.import_report.setPlainText(tr("Importando…"))
        ctx = self.ctx
        try:
            report = await ctx.store.run(
                import_csv,
                ctx.catalog,
                Path(text),
                crt=ctx.config.store.regime,  # a product the store could not sell is refused
                defaults=ctx.config.tax_defaults,
            )
            self.import_report.setPlainText("\n".join(report.lines()))
            await ctx.store.run(
                ctx.audit.record, Action.CATALOG_IMPORT, operator=ctx.operator_login, detail=report.summary()
            )
        except Exception as exc:  # never leave "Importando…" on screen
            self.import_report.setPlainText(error_text(exc, f"catalog import of {text} failed"))
        finally:
            self.import_button.setEnabled(True)

    @async_slot
    async def refresh_operators(self) -> None:
        try:
            operators = await self.ctx.store.run(self.ctx.operators.accounts, include_inactive=True)
        except PosappError as exc:
            self.operator_list.setPlainText(error_text(exc, "listing operators failed"))
            return
        self.operator_list.setPlainText(
            "\n".join(
                f"{o.login:<16} {o.name:<30} {tr(o.role.label)}{'' if o.active else tr(' (inativo)')}"
                for o in operators
            )
        )

    @async_slot
    async def add_operator(self) -> None:
        ctx = self.ctx
        try:
            await ctx.store.run(
                ctx.operators.create,
                self.new_login.text(),
                self.new_name.text(),
                Role(self.new_role.currentData()),
                self.new_pin.text(),
                created_by=ctx.operator_login,
            )
        except PosappError as exc:
            self.error.setText(error_text(exc, "adding an operator failed"))
            return
        self.error.setText("")
        for field in (self.new_login, self.new_name, self.new_pin):
            field.clear()
        self.refresh_operators()
