"""F10: take payment in one or more tenders.

Keys: F1 Dinheiro, F2 Crédito, F3 Débito, F4 PIX (dynamic, tPag 17), F5 Vale-alimentação,
F6 Vale-refeição, F7 Outros, F9 PIX Estático (the store's fixed QR, tPag 20) pick the
method; the amount field starts with what is still owed; Enter adds the tender (a card asks
for its details, "Outros" for its description, xPag, which SEFAZ requires); with nothing
owed, Enter (or F10) finishes. F8 removes the last tender.
Change is computed only from cash: a card, PIX or voucher tender cannot exceed what is
owed (the domain refuses it too), and the change is shown large. Cash far above what is
owed (more than :data:`MAX_CASH_OVER` over) is refused too: that is a barcode or a slip of
the finger in the amount field, not a banknote.
"""

from __future__ import annotations

import functools
from decimal import Decimal

from pydantic import ValidationError

from posapp.domain.money import ZERO
from posapp.domain.payments import PaymentMethod
from posapp.domain.sale import (
    DESCRIPTION_MAX,
    DESCRIPTION_MIN,
    CardDetails,
    Payment,
    describe_validation_error,
)
from posapp.domain.sale_rules import CARD_DETAIL_UFS
from posapp.ui.formatting import brl, parse_decimal
from posapp.ui.qt import (
    QComboBox,
    QDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QKeySequence,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QShortcut,
    QSize,
    Qt,
    QVBoxLayout,
    QWidget,
    tr,
)
from posapp.ui.scan_burst import text_field
from posapp.ui.widgets import fit_to_screen, key_button, set_role

MAX_CASH_OVER = Decimal("1000.00")  # no customer hands over R$ 1.000,00 more than owed

METHOD_KEYS: tuple[tuple[str, PaymentMethod], ...] = (
    ("F1", PaymentMethod.DINHEIRO),
    ("F2", PaymentMethod.CREDITO),
    ("F3", PaymentMethod.DEBITO),
    ("F4", PaymentMethod.PIX),
    ("F5", PaymentMethod.VALE_ALIMENTACAO),
    ("F6", PaymentMethod.VALE_REFEICAO),
    ("F7", PaymentMethod.OUTROS),
    ("F9", PaymentMethod.PIX_ESTATICO),
)

CARD_BRANDS: tuple[tuple[str, str | None], ...] = (
    ("(não informar)", None),
    ("Visa", "01"),
    ("Mastercard", "02"),
    ("American Express", "03"),
    ("Sorocred", "04"),
    ("Diners Club", "05"),
    ("Elo", "06"),
    ("Hipercard", "07"),
    ("Aura", "08"),
    ("Cabal", "09"),
    ("Alelo", "10"),
    ("Banescard", "11"),
    ("CalCard", "12"),
    ("Credz", "13"),
    ("Discover", "14"),
    ("GoodCard", "15"),
    ("GreenCard", "16"),
    ("Hiper", "17"),
    ("JCB", "18"),
    ("Mais", "19"),
    ("MaxVan", "20"),
    ("Policard", "21"),
    ("RedeCompras", "22"),
    ("Sodexo", "23"),
    ("ValeCard", "24"),
    ("Verocheque", "25"),
    ("VR", "26"),
    ("Ticket", "27"),
    ("Outros", "99"),
)


def remaining_and_change(total: Decimal, payments: list[Payment]) -> tuple[Decimal, Decimal]:
    """What is still owed, and the change due (only ever from cash)."""
    paid = sum((p.amount for p in payments), ZERO)
    return max(total - paid, ZERO), max(paid - total, ZERO)


class PaymentDialog(QDialog):
    def __init__(
        self,
        total: Decimal,
        *,
        payments: tuple[Payment, ...] = (),
        parent: QWidget | None = None,
        uf: str | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Pagamento (F10)"))
        self.total = total
        # The store's state requires the acquirer, brand and authorization on every card.
        self.card_details_state = uf if uf in CARD_DETAIL_UFS else None
        self.payments: list[Payment] = list(payments)
        self.method = PaymentMethod.DINHEIRO
        outer = QHBoxLayout(self)

        methods = QVBoxLayout()
        self.method_buttons: dict[PaymentMethod, QPushButton] = {}
        for key, method in METHOD_KEYS:
            button = key_button(
                tr(method.label), key, functools.partial(self.select_method, method), parent=self
            )
            button.setAutoDefault(False)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            methods.addWidget(button)
            self.method_buttons[method] = button
        methods.addStretch(1)
        outer.addLayout(methods)

        main = QVBoxLayout()
        grid = QGridLayout()
        grid.addWidget(QLabel(tr("TOTAL"), self), 0, 0)
        self.total_label = QLabel(brl(total), self)
        self.total_label.setObjectName("itemPrice")
        grid.addWidget(self.total_label, 0, 1)
        grid.addWidget(QLabel(tr("Pago"), self), 1, 0)
        self.paid_label = QLabel("", self)
        grid.addWidget(self.paid_label, 1, 1)
        grid.addWidget(QLabel(tr("FALTA"), self), 2, 0)
        self.remaining_label = QLabel("", self)
        self.remaining_label.setObjectName("itemDescription")
        grid.addWidget(self.remaining_label, 2, 1)
        grid.addWidget(QLabel(tr("TROCO"), self), 3, 0)
        self.change_label = QLabel("", self)
        self.change_label.setObjectName("changeValue")
        grid.addWidget(self.change_label, 3, 1)
        main.addLayout(grid)

        self.method_label = QLabel("", self)
        self.method_label.setObjectName("totalCaption")
        main.addWidget(self.method_label)
        form = QFormLayout()
        self.amount = QLineEdit(self)
        self.amount.setPlaceholderText("0,00")
        self.amount.returnPressed.connect(self.enter_amount)
        form.addRow(tr("Valor (R$)"), self.amount)
        self.card_box = QWidget(self)
        card_form = QFormLayout(self.card_box)
        card_form.setContentsMargins(0, 0, 0, 0)
        self.card_brand = QComboBox(self.card_box)
        for name, code in CARD_BRANDS:
            self.card_brand.addItem(tr(name), code)
        self.card_authorization = QLineEdit(self.card_box)
        self.card_authorization.setMaxLength(20)
        need = tr("obrigatório em ") + self.card_details_state if self.card_details_state else tr("opcional")
        self.card_authorization.setPlaceholderText(tr("código de autorização / NSU (") + need + ")")
        self.card_authorization.returnPressed.connect(self.add_tender)
        self.card_acquirer = QLineEdit(self.card_box)
        self.card_acquirer.setMaxLength(18)
        self.card_acquirer.setPlaceholderText(tr("CNPJ da credenciadora (") + need + ")")
        self.card_acquirer.returnPressed.connect(self.add_tender)
        for field in (self.card_authorization, self.card_acquirer):
            text_field(field)  # an NSU or a CNPJ typed at scanner speed stays where it was typed
        card_form.addRow(tr("Bandeira"), self.card_brand)
        card_form.addRow(tr("Autorização"), self.card_authorization)
        card_form.addRow(tr("Credenciadora"), self.card_acquirer)
        self.other_box = QWidget(self)
        other_form = QFormLayout(self.other_box)
        other_form.setContentsMargins(0, 0, 0, 0)
        self.description = QLineEdit(self.other_box)
        self.description.setMaxLength(DESCRIPTION_MAX)
        self.description.setPlaceholderText(tr("o que foi: cashback, vale da loja… (obrigatório)"))
        self.description.returnPressed.connect(self.add_tender)
        text_field(self.description)
        other_form.addRow(tr("Descrição"), self.description)
        main.addLayout(form)
        main.addWidget(self.card_box)
        main.addWidget(self.other_box)

        self.tenders = QListWidget(self)
        self.tenders.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tenders.setMinimumHeight(140)
        main.addWidget(self.tenders)
        self.error = QLabel("", self)
        set_role(self.error, "error")
        self.error.setWordWrap(True)
        main.addWidget(self.error)

        row = QHBoxLayout()
        back = key_button(tr("Voltar"), "Esc", self.reject, parent=self, focusable=False)
        back.setAutoDefault(False)
        remove = key_button(tr("Remover último"), "F8", self.remove_last, parent=self, focusable=False)
        remove.setAutoDefault(False)
        # F10 calls finish() itself, not the button: with money still owed the button is
        # disabled (and looks it), and the key must still say what is missing.
        self.finish_button = key_button(
            "F10  " + tr("Finalizar"), None, self.finish, parent=self, role="primary"
        )
        finish_key = QShortcut(QKeySequence("F10"), self)
        finish_key.activated.connect(self.finish)
        self.finish_button.setAutoDefault(False)
        self.finish_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        row.addWidget(back)
        row.addWidget(remove)
        row.addStretch(1)
        row.addWidget(self.finish_button)
        main.addLayout(row)
        outer.addLayout(main, 1)
        fit_to_screen(self, QSize(960, 680))
        self.select_method(PaymentMethod.DINHEIRO)
        self._refresh()

    # -- state -------------------------------------------------------------------------

    @property
    def remaining(self) -> Decimal:
        return remaining_and_change(self.total, self.payments)[0]

    @property
    def change(self) -> Decimal:
        return remaining_and_change(self.total, self.payments)[1]

    def _refresh(self) -> None:
        remaining, change = remaining_and_change(self.total, self.payments)
        self.paid_label.setText(brl(sum((p.amount for p in self.payments), ZERO)))
        self.remaining_label.setText(brl(remaining))
        self.change_label.setText(brl(change))
        self.tenders.clear()
        for payment in self.payments:
            extra = ""
            if payment.card is not None and payment.card.authorization:
                extra = f"  aut. {payment.card.authorization}"
            self.tenders.addItem(f"{tr(payment.label)}: {brl(payment.amount)}{extra}")
        self.finish_button.setEnabled(remaining == 0 and bool(self.payments))
        if remaining > 0:
            self.amount.setText(f"{remaining:.2f}".replace(".", ","))
            self.amount.selectAll()
        else:
            self.amount.clear()
            self.amount.setPlaceholderText(tr("Enter finaliza"))
        self.amount.setFocus()

    def select_method(self, method: PaymentMethod) -> None:
        self.method = method
        self.method_label.setText(tr("Forma: ") + tr(method.label))
        for other, button in self.method_buttons.items():
            set_role(button, "primary" if other is method else None)
        self.card_box.setVisible(method.is_card)
        self.other_box.setVisible(method.needs_description)
        self.error.setText("")
        self.amount.selectAll()
        self.amount.setFocus()

    # -- actions -------------------------------------------------------------------------

    def enter_amount(self) -> None:
        if not self.amount.text().strip():
            if self.remaining == 0 and self.payments:
                self.finish()
            return
        if self.method.is_card and self.card_box.isVisible() and not self.card_authorization.hasFocus():
            if self._validated_amount() is not None:
                self.card_authorization.setFocus()
            return
        if self.method.needs_description and not self.description.hasFocus():
            if self._validated_amount() is not None:
                self.description.setFocus()
            return
        self.add_tender()

    def _validated_amount(self) -> Decimal | None:
        amount = parse_decimal(self.amount.text())
        remaining = self.remaining
        if amount is None or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
            self._fail(tr("Valor inválido: use reais e centavos (ex.: 50,00)."))
            return None
        if remaining == 0:
            self._fail(tr("Nada mais a pagar: Enter finaliza."))
            return None
        if self.method is PaymentMethod.DINHEIRO and amount > remaining + MAX_CASH_OVER:
            self._fail(
                tr("Valor em dinheiro muito acima do que falta (")
                + brl(remaining)
                + tr("): confira o valor digitado (")
                + brl(amount)
                + ")."
            )
            return None
        if self.method is not PaymentMethod.DINHEIRO and amount > remaining:
            self._fail(
                tr("Troco só em dinheiro: este pagamento não pode passar do que falta (")
                + brl(remaining)
                + ")."
            )
            return None
        return amount

    def _fail(self, message: str) -> None:
        self.error.setText(message)
        self.amount.selectAll()
        self.amount.setFocus()

    def add_tender(self) -> None:
        amount = self._validated_amount()
        if amount is None:
            return
        description = " ".join(self.description.text().split()) or None
        if self.method.needs_description and (description is None or len(description) < DESCRIPTION_MIN):
            self.error.setText(
                tr("Descreva o pagamento 'Outros' (de 2 a 60 caracteres, ex.: Cashback do app): ")
                + tr("a SEFAZ exige.")
            )
            self.description.setFocus()
            return
        try:
            card = None
            if self.method.is_card:
                card = CardDetails(
                    integration=2,
                    brand=self.card_brand.currentData(),
                    authorization=self.card_authorization.text().strip() or None,
                    # letters too: the alphanumeric CNPJ (2026)
                    acquirer_cnpj="".join(ch for ch in self.card_acquirer.text() if ch.isalnum()).upper()
                    or None,
                )
            payment = Payment(
                method=self.method,
                amount=amount,
                card=card,
                description=description if self.method.needs_description else None,
            )
        except ValidationError as exc:
            self._fail(describe_validation_error(exc).split(": ", 1)[-1])
            return
        if card is not None and self.card_details_state and not card.complete:
            self.error.setText(
                tr("Em ")
                + self.card_details_state
                + tr(" o cartão exige bandeira, autorização e CNPJ da credenciadora.")
            )
            (self.card_authorization if not card.authorization else self.card_acquirer).setFocus()
            return
        self.payments.append(payment)
        self.description.clear()
        self.card_authorization.clear()
        self.card_acquirer.clear()
        self.card_brand.setCurrentIndex(0)
        self.error.setText("")
        if self.remaining > 0 and self.method is not PaymentMethod.DINHEIRO:
            self.select_method(PaymentMethod.DINHEIRO)
        self._refresh()

    def remove_last(self) -> None:
        if self.payments:
            self.payments.pop()
            self._refresh()

    def finish(self) -> None:
        remaining = self.remaining
        if remaining == 0 and self.payments:
            self.accept()
            return
        self._fail(tr("Falta ") + brl(remaining) + tr(": registre o pagamento (Enter) antes de finalizar."))
