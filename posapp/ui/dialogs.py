"""Checkout dialogs: operator login (and the first manager), the consumer's CPF/CNPJ,
voiding a line, and the cash movements."""

from __future__ import annotations

import logging
from decimal import Decimal

from pydantic import ValidationError

from posapp.catalog.storedb import StoreDB
from posapp.domain.documents import format_cpf_cnpj, validate_cpf_or_cnpj
from posapp.domain.errors import InvalidDocument
from posapp.domain.sale import Customer, describe_validation_error
from posapp.errors import PosappError
from posapp.operators.accounts import Operator, Operators, Role
from posapp.operators.cash import CashKind
from posapp.ui.errors import error_text
from posapp.ui.formatting import brl, parse_decimal
from posapp.ui.qt import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    Qt,
    QVBoxLayout,
    QWidget,
    tr,
)
from posapp.ui.scan_burst import text_field
from posapp.ui.tasks import async_slot
from posapp.ui.widgets import grow_to_contents, set_role

log = logging.getLogger("posapp.ui")


QUIT_TEXT = "Sair do posapp (Esc)"  # Esc on the start-up login ends the program: say so


def _buttons(
    dialog: QDialog, ok_text: str, on_ok: object, *, role: str = "primary", back_text: str = "Voltar (Esc)"
) -> tuple[QHBoxLayout, QPushButton]:
    row = QHBoxLayout()
    back = QPushButton(tr(back_text), dialog)
    back.setAutoDefault(False)
    back.clicked.connect(dialog.reject)
    ok = QPushButton(ok_text, dialog)
    ok.setAutoDefault(False)
    set_role(ok, role)
    ok.clicked.connect(on_ok)
    row.addWidget(back)
    row.addStretch(1)
    row.addWidget(ok)
    return row, ok


class LoginDialog(QDialog):
    """Operator login at start (and when the operator changes)."""

    def __init__(
        self,
        store: StoreDB,
        operators: Operators,
        *,
        hint: str = "",
        at_start: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("posapp — entrada do operador"))
        self._store = store
        self._operators = operators
        self.operator: Operator | None = None
        layout = QVBoxLayout(self)
        title = QLabel(tr("Entrada do operador"), self)
        title.setObjectName("totalCaption")
        layout.addWidget(title)
        form = QFormLayout()
        self.login = QLineEdit(self)
        self.login.setPlaceholderText(tr("login"))
        text_field(self.login)
        self.pin = QLineEdit(self)
        self.login.returnPressed.connect(self.pin.setFocus)
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setMaxLength(12)
        self.pin.returnPressed.connect(self.submit)
        form.addRow(tr("Operador"), self.login)
        form.addRow(tr("PIN"), self.pin)
        layout.addLayout(form)
        self.hint = QLabel(hint, self)
        self.hint.setWordWrap(True)
        set_role(self.hint, "warning")
        self.hint.setVisible(bool(hint))
        layout.addWidget(self.hint)
        self.error = QLabel("", self)
        set_role(self.error, "error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        row, self.ok = _buttons(
            self, tr("Entrar (Enter)"), self.submit, back_text=QUIT_TEXT if at_start else "Voltar (Esc)"
        )
        layout.addLayout(row)
        self.setMinimumWidth(520)
        self.login.setFocus()

    @async_slot
    async def submit(self) -> None:
        if not self.ok.isEnabled():  # a check is running (Enter pressed twice)
            return
        login, pin = self.login.text().strip(), self.pin.text()
        if not login:
            self.login.setFocus()
            return
        self.ok.setEnabled(False)
        try:
            self.operator = await self._store.run(self._operators.authenticate, login, pin)
        except PosappError as exc:
            self.error.setText(error_text(exc, "login failed"))
            self.pin.clear()
            self.pin.setFocus()
            return
        except Exception as exc:
            self.error.setText(error_text(exc, "login failed"))
            return
        finally:
            self.ok.setEnabled(True)
        self.accept()


class FirstManagerDialog(QDialog):
    """First start with no operators: create the store's manager."""

    def __init__(
        self, store: StoreDB, operators: Operators, parent: QWidget | None = None, *, at_start: bool = True
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("posapp — primeiro acesso"))
        self._store = store
        self._operators = operators
        self.operator: Operator | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(
            tr("Nenhum operador cadastrado. Crie o gerente da loja (ele cadastra os demais)."), self
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.login = QLineEdit("gerente", self)
        self.name = QLineEdit(self)
        text_field(self.login)
        text_field(self.name)
        self.pin = QLineEdit(self)
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin2 = QLineEdit(self)
        self.pin2.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin2.returnPressed.connect(self.submit)
        form.addRow(tr("Login"), self.login)
        form.addRow(tr("Nome"), self.name)
        form.addRow(tr("PIN (4 a 12 dígitos)"), self.pin)
        form.addRow(tr("Repita o PIN"), self.pin2)
        layout.addLayout(form)
        self.error = QLabel("", self)
        set_role(self.error, "error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        row, self.ok = _buttons(
            self,
            tr("Criar gerente (Enter)"),
            self.submit,
            back_text=QUIT_TEXT if at_start else "Voltar (Esc)",
        )
        layout.addLayout(row)
        self.name.setFocus()

    @async_slot
    async def submit(self) -> None:
        if not self.ok.isEnabled():  # the manager is being created (Enter pressed twice)
            return
        if self.pin.text() != self.pin2.text():
            self.error.setText(tr("Os PINs não conferem."))
            return
        self.ok.setEnabled(False)
        try:
            self.operator = await self._store.run(
                self._operators.create,
                self.login.text(),
                self.name.text() or self.login.text(),
                Role.MANAGER,
                self.pin.text(),
            )
        except Exception as exc:  # a bad login or PIN, or a bug: never a dialog stuck
            self.error.setText(error_text(exc, "creating the first manager failed"))
            return
        finally:
            self.ok.setEnabled(True)
        self.accept()


class CustomerDialog(QDialog):
    """The consumer (F4): CPF or CNPJ (numeric or alphanumeric), checked digit by digit, or a
    foreign document; the name; and the address, which a delivery needs (NFC-e indPres 4).

    Enter in any field confirms, so the quick path stays "CPF, Enter"; Tab walks to the
    name and address. Everything empty removes the identification. A sale of R$ 10.000,00
    or more, or a delivery, is refused at issue time without what it needs, with the reason.
    """

    def __init__(
        self, current: Customer | str | None, parent: QWidget | None = None, *, delivery: bool = False
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Consumidor (CPF/CNPJ, nome, endereço)"))
        if isinstance(current, str):
            current = Customer(document=current)
        self.customer: Customer | None = current
        self.document: str | None = current.document if current else None
        self.delivery = delivery
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(tr("CPF ou CNPJ na nota (deixe tudo vazio para não identificar):"), self))
        self.field = self._line(format_cpf_cnpj(current.document) if current and current.document else "", 18)
        self.field.setPlaceholderText("000.000.000-00")
        layout.addWidget(self.field)
        form = QGridLayout()
        address = current.address if current else None
        self.foreign = self._line(current.foreign_id if current and current.foreign_id else "", 20)
        self.foreign.setPlaceholderText(tr("passaporte (só para estrangeiro, sem CPF)"))
        self.name = self._line(current.name if current and current.name else "", 60)
        self.street = self._line(address.street if address else "", 60)
        self.number = self._line(address.number if address else "", 60)
        self.complement = self._line(address.complement or "" if address else "", 60)
        self.district = self._line(address.district if address else "", 60)
        self.city = self._line(address.city if address else "", 60)
        self.city_code = self._line(address.city_code if address else "", 7)
        self.city_code.setPlaceholderText(tr("código IBGE, 7 dígitos"))
        self.uf = self._line(address.uf if address else "", 2)
        self.cep = self._line(address.cep or "" if address else "", 9)
        self.delivery_box = QCheckBox(tr("Entrega em domicílio (exige nome e endereço)"), self)
        self.delivery_box.setChecked(delivery)
        # Two fields a row: the dialog fits a 1024x768 screen with an error showing.
        rows: tuple[tuple[tuple[str, QLineEdit], ...], ...] = (
            ((tr("Estrangeiro"), self.foreign),),
            ((tr("Nome"), self.name),),
            ((tr("Logradouro"), self.street), (tr("Número"), self.number)),
            ((tr("Complemento"), self.complement), (tr("Bairro"), self.district)),
            ((tr("Município"), self.city), (tr("UF"), self.uf)),
            ((tr("Cód. IBGE"), self.city_code), (tr("CEP"), self.cep)),
        )
        for row_number, pairs in enumerate(rows):
            for column, (label, widget) in enumerate(pairs):
                form.addWidget(QLabel(label, self), row_number, column * 2)
                span = 3 if len(pairs) == 1 else 1
                form.addWidget(widget, row_number, column * 2 + 1, 1, span)
        form.addWidget(self.delivery_box, len(rows), 0, 1, 4)
        layout.addLayout(form)
        self.error = QLabel("", self)
        set_role(self.error, "error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        row, _ = _buttons(self, tr("Confirmar (Enter)"), self.submit)
        layout.addLayout(row)
        self.setMinimumWidth(520)
        self.field.selectAll()
        self.field.setFocus()

    def _line(self, text: str, length: int) -> QLineEdit:
        line = QLineEdit(text, self)
        line.setMaxLength(length)
        text_field(line)  # what is typed or read at scanner speed stays in the field
        line.returnPressed.connect(self.submit)
        line.textEdited.connect(lambda _text: self.error.setText(""))
        return line

    def _mapping(self) -> dict[str, object] | None:
        """What was typed as a SALE.json ``customer`` (None: nothing at all)."""
        values = {
            "document": self.field.text().strip(),
            "foreign_id": self.foreign.text().strip(),
            "name": self.name.text().strip(),
        }
        address = {
            "street": self.street.text().strip(),
            "number": self.number.text().strip(),
            "complement": self.complement.text().strip(),
            "district": self.district.text().strip(),
            "city": self.city.text().strip(),
            "city_code": self.city_code.text().strip(),
            "uf": self.uf.text().strip(),
            "cep": self.cep.text().strip(),
        }
        data: dict[str, object] = {k: v for k, v in values.items() if v}
        if any(address.values()):
            data["address"] = {k: v for k, v in address.items() if v}
        return data or None

    def submit(self) -> None:
        data = self._mapping()
        delivery = self.delivery_box.isChecked()
        if data is None:
            if delivery:
                self._refuse(tr("Entrega em domicílio exige o consumidor: documento, nome e endereço."))
                return
            self.customer = self.document = None
            self.delivery = False
            self.accept()
            return
        if "document" in data:
            try:  # the document first: its own message says what is wrong with the digits
                validate_cpf_or_cnpj(str(data["document"]))
            except InvalidDocument as exc:
                self._refuse(error_text(exc))
                self.field.selectAll()
                self.field.setFocus()
                return
        address = data.get("address")
        if isinstance(address, dict):
            labels = {
                "street": tr("Logradouro"),
                "number": tr("Número"),
                "district": tr("Bairro"),
                "city": tr("Município"),
                "city_code": tr("Cód. IBGE"),
                "uf": tr("UF"),
                "cep": tr("CEP"),
            }
            missing = [label for key, label in labels.items() if key not in address]
            if missing:
                self._refuse(tr("Endereço incompleto: preencha ") + ", ".join(missing) + ".")
                return
        try:
            customer = Customer.model_validate(data)
        except ValidationError as exc:
            self._refuse(describe_validation_error(exc))
            return
        if delivery and (not customer.name or customer.address is None):
            self._refuse(tr("Entrega em domicílio exige nome e endereço completos do consumidor."))
            return
        self.customer, self.document, self.delivery = customer, customer.document, delivery
        self.accept()

    def _refuse(self, message: str) -> None:
        self.error.setText(message)
        grow_to_contents(self)  # the error's lines must not push the buttons out


class VoidLineDialog(QDialog):
    """Which line to void (defaults to the last one; ``hint`` says why a typed number was
    not taken)."""

    def __init__(
        self, last_line: int, max_line: int, parent: QWidget | None = None, *, hint: str = ""
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Cancelar item"))
        layout = QVBoxLayout(self)
        self.hint = QLabel(hint, self)
        self.hint.setWordWrap(True)
        set_role(self.hint, "warning")
        self.hint.setVisible(bool(hint))
        layout.addWidget(self.hint)
        layout.addWidget(QLabel(tr("Número do item a cancelar:"), self))
        self.number = QSpinBox(self)
        self.number.setRange(1, max(max_line, 1))
        self.number.setValue(last_line)
        self.number.lineEdit().returnPressed.connect(self.accept)
        layout.addWidget(self.number)
        row, _ = _buttons(self, tr("Cancelar item (Enter)"), self.accept, role="danger")
        layout.addLayout(row)
        self.number.selectAll()
        self.number.setFocus()


class CashMovementDialog(QDialog):
    """Opening float, *sangria* or *suprimento*: kind, amount and a note."""

    def __init__(self, parent: QWidget | None = None, *, kind: CashKind = CashKind.SANGRIA) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Movimento de caixa"))
        self.amount: Decimal | None = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.kind = QComboBox(self)
        for option in CashKind:
            self.kind.addItem(tr(option.label), option)
        self.kind.setCurrentIndex(list(CashKind).index(kind))
        self.value = QLineEdit(self)
        self.value.setPlaceholderText("0,00")
        self.value.returnPressed.connect(self.submit)
        self.note = QLineEdit(self)
        self.note.setMaxLength(200)
        text_field(self.note)
        self.note.returnPressed.connect(self.submit)
        form.addRow(tr("Tipo"), self.kind)
        form.addRow(tr("Valor (R$)"), self.value)
        form.addRow(tr("Observação"), self.note)
        layout.addLayout(form)
        self.error = QLabel("", self)
        set_role(self.error, "error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        row, _ = _buttons(self, tr("Registrar (Enter)"), self.submit)
        layout.addLayout(row)
        self.setMinimumWidth(520)
        self.value.setFocus()

    @property
    def selected_kind(self) -> CashKind:
        return CashKind(self.kind.currentData())

    def submit(self) -> None:
        amount = parse_decimal(self.value.text())
        if amount is None or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            self.error.setText(tr("Informe um valor em reais maior que zero (ex.: 50,00)."))
            self.value.selectAll()
            self.value.setFocus()
            return
        self.amount = amount
        self.accept()

    def summary(self) -> str:
        return f"{self.selected_kind.label}: {brl(self.amount or Decimal(0))}"


MONOSPACE_FAMILIES = (
    "'DejaVu Sans Mono', 'Noto Sans Mono', 'Liberation Mono', Consolas, 'Courier New', monospace"
)


def use_monospace(widget: QWidget, pixels: int = 15) -> None:
    """Show ``widget``'s text in a fixed-pitch font, so columns made of spaces line up.

    ``setFont`` is not enough: the application's style sheet names a proportional family
    for every widget and wins over it; the widget's own style sheet wins over that."""
    widget.setStyleSheet(f"font-family: {MONOSPACE_FAMILIES}; font-size: {pixels}px;")
    widget.ensurePolished()


class TextReportDialog(QDialog):
    """A fixed-width text report (the day close) in a monospaced font, with a print button:
    the lines are the ones the printer gets, so the screen shows the paper."""

    def __init__(self, title: str, lines: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.print_requested = False
        layout = QVBoxLayout(self)
        self.text = QPlainTextEdit("\n".join(lines), self)
        self.text.setReadOnly(True)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)  # a wrapped row loses its columns
        use_monospace(self.text)
        columns = max((len(line) for line in lines), default=40)
        metrics = self.text.fontMetrics()
        width = metrics.horizontalAdvance("0" * (columns + 2)) + 48  # padding, frame, scroll bar
        height = metrics.lineSpacing() * (len(lines) + 1) + 24
        self.text.setMinimumSize(min(width, 900), min(max(height, 240), 520))
        layout.addWidget(self.text)
        row, self.print_button = _buttons(self, tr("Imprimir (Enter)"), self._print)
        layout.addLayout(row)
        self.print_button.setDefault(True)
        self.text.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def _print(self) -> None:
        self.print_requested = True
        self.accept()
