"""Issuing a sale, then its outcome: one screen per outcome.

* **authorized** — number, series, key, the change (large), print status, the receipt
  preview; Enter starts the next sale, F5 reprints.
* **rejected** — the SEFAZ reason in plain words (official text below); Enter goes back
  to the cart to fix it, F5 resends as it is.
* **queued** — the sale is safe and will be issued automatically; keep selling.
* **in doubt** — the sale is kept; a manager resolves it in the sales history (F12).

The change is shown from the first moment (the cashier counts it while the issuer is
asked, which can take up to the response timeout). A queued or in-doubt sale prints a
non-fiscal slip ("NFC-e PENDENTE — NÃO É DOCUMENTO FISCAL", through ``print_slip``) and
the screen says what to tell the customer. What an issuer adapter wrote about a failure
(English, technical) goes to the log; the screen says it in a Portuguese sentence
(:func:`in_doubt_detail`).

While the issue runs the dialog cannot be closed (the window stays alive: clock, status
bar, timers). Scans typed by a keyboard-wedge scanner meanwhile are captured here and
handed to the checkout's scan queue, to be rung up in the next sale: the buttons take no
focus, so the scanner's Enter never presses one by accident. Keys more than
:data:`SCAN_GAP_S` apart start a new buffer, and only :data:`MIN_SCAN_DIGITS` digits or
more make a scan: a stray key or two before Enter is the cashier pressing Enter.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from enum import Enum

from posapp.domain.lifecycle import Notice, SaleState
from posapp.services.ports import PrintResult
from posapp.services.results import IssueReport
from posapp.ui.errors import error_text
from posapp.ui.formatting import brl, local_datetime
from posapp.ui.qt import (
    QCloseEvent,
    QDialog,
    QHBoxLayout,
    QKeyEvent,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollBar,
    QSize,
    QStackedWidget,
    Qt,
    QTimer,
    QVBoxLayout,
    QWidget,
    tr,
)
from posapp.ui.reasons import plain_reason
from posapp.ui.receipt_preview import ReceiptView
from posapp.ui.scan_burst import PASSTHROUGH
from posapp.ui.tasks import remember, spawn
from posapp.ui.widgets import fit_to_screen, key_button, set_role

log = logging.getLogger("posapp.ui")

SCAN_GAP_S = 0.5  # keys further apart than this are a person typing, not a scanner
MIN_SCAN_DIGITS = 4  # the shortest code a scanner sends here (an internal code)


class Choice(Enum):
    NEXT_SALE = "next"
    FIX = "fix"
    RESEND = "resend"


_TITLES = {
    SaleState.AUTHORIZED: "NFC-e AUTORIZADA",
    SaleState.REJECTED: "NFC-e REJEITADA",
    SaleState.QUEUED: "VENDA GUARDADA NA FILA",
    SaleState.IN_DOUBT: "RESULTADO DESCONHECIDO",
}

_EXPLAIN = {
    SaleState.QUEUED: (
        "Nenhum emissor respondeu. A venda está salva e será emitida automaticamente assim que "
        "um emissor voltar. Pode continuar vendendo."
    ),
    SaleState.IN_DOUBT: (
        "A venda foi enviada mas a resposta não chegou. Ela está guardada e não será reenviada "
        "sozinha: um gerente deve conferir no histórico de vendas (F12)."
    ),
    SaleState.REJECTED: "Corrija a venda e reenvie. O motivo:",
}

#: What the cashier tells the customer when the note could not be issued now.
SAY_TO_CUSTOMER = {
    SaleState.QUEUED: (
        "Diga ao cliente: “O sistema da nota fiscal está fora do ar. Sua compra está registrada "
        "e a nota será emitida assim que ele voltar. Este comprovante provisório não é documento "
        "fiscal; o DANFE fica à sua disposição na loja.”"
    ),
    SaleState.IN_DOUBT: (
        "Diga ao cliente: “O sistema da nota fiscal não respondeu a tempo. Sua compra está "
        "registrada; a loja confere a nota e o DANFE fica à sua disposição. Guarde este "
        "comprovante provisório, que não é documento fiscal.”"
    ),
}

#: Words of an adapter's technical detail -> the Portuguese sentence the screen shows.
_DETAIL_SENTENCES = (
    (("within", "timed out", "timeout"), "o emissor não respondeu dentro do prazo de espera."),
    (
        ("closed", "disconnect", "reset", "connection", "write failed"),
        "a conexão com o emissor caiu antes da resposta.",
    ),
    (
        ("unreadable", "garbled", "json", "frame", "truncated", "for another sale"),
        "a resposta do emissor veio incompleta ou ilegível.",
    ),
    (("processando",), "o emissor ainda está processando a venda."),
)
_GENERIC_DETAIL = "a resposta do emissor não permite saber se a NFC-e foi emitida."


def in_doubt_detail(report: IssueReport) -> str:
    """A Portuguese sentence for why ``report`` (IN_DOUBT) has no verdict. The first error
    of an in-doubt issue is the adapter's detail (technical, English): it is translated
    here and logged; the issuer's own messages after it are shown as they are."""
    if report.notice not in (None, Notice.IN_DOUBT) or not report.errors:
        return "; ".join(report.errors)  # already in Portuguese (verification, numbering)
    detail, *issuer = report.errors
    log.info("sale %s in doubt: %s", report.sale_id, "; ".join(report.errors))
    lowered = detail.lower()
    sentence = next(
        (text for words, text in _DETAIL_SENTENCES if any(w in lowered for w in words)), _GENERIC_DETAIL
    )
    if issuer:
        sentence += " Mensagem do emissor: " + "; ".join(issuer)
    return sentence


PREFERRED_SIZE = QSize(1000, 700)  # bounded by the screen (a till's is often 1024x768)


class IssueDialog(QDialog):
    def __init__(
        self,
        *,
        total: Decimal,
        change: Decimal,
        scan_sink: Callable[[str], None],
        reprint: Callable[[str], Awaitable[IssueReport]],
        paper_mm: int,
        print_slip: Callable[[IssueReport], Awaitable[PrintResult | None]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Emissão da NFC-e"))
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setProperty(PASSTHROUGH, True)  # it captures scans itself (keyPressEvent)
        self.busy = True
        self.choice = Choice.NEXT_SALE
        self.report: IssueReport | None = None
        self._scan_sink = scan_sink
        self._reprint = reprint
        self._print_slip = print_slip
        self._paper_mm = paper_mm
        self._change = change
        self._buffer = ""
        self._last_key = 0.0
        self._started = time.monotonic()

        layout = QHBoxLayout(self)
        self.pages = QStackedWidget(self)
        layout.addWidget(self.pages, 1)

        # progress page
        progress = QWidget(self)
        box = QVBoxLayout(progress)
        self.progress_title = QLabel(tr("Emitindo NFC-e…"), progress)
        self.progress_title.setObjectName("itemDescription")
        box.addWidget(self.progress_title)
        box.addWidget(QLabel(tr("Total ") + brl(total), progress))
        # The change at once: the cashier counts it while the issuer answers.
        self.progress_change_caption = QLabel(tr("TROCO"), progress)
        self.progress_change_caption.setObjectName("totalCaption")
        box.addWidget(self.progress_change_caption)
        self.progress_change = QLabel(brl(change), progress)
        self.progress_change.setObjectName("changeValue")
        box.addWidget(self.progress_change)
        self.progress_change_caption.setVisible(change > 0)
        self.progress_change.setVisible(change > 0)
        self.progress_bar = QProgressBar(progress)
        self.progress_bar.setRange(0, 0)
        box.addWidget(self.progress_bar)
        self.elapsed = QLabel("", progress)
        box.addWidget(self.elapsed)
        self.held_label = QLabel("", progress)
        box.addWidget(self.held_label)
        box.addStretch(1)
        self.pages.addWidget(progress)

        # outcome page
        outcome = QWidget(self)
        out = QVBoxLayout(outcome)
        self.title = QLabel("", outcome)
        self.title.setObjectName("itemDescription")
        out.addWidget(self.title)
        self.explain = QLabel("", outcome)
        self.explain.setWordWrap(True)
        out.addWidget(self.explain)
        self.tell_customer = QLabel("", outcome)
        self.tell_customer.setWordWrap(True)
        set_role(self.tell_customer, "warning")
        out.addWidget(self.tell_customer)
        self.reasons = QLabel("", outcome)
        self.reasons.setWordWrap(True)
        set_role(self.reasons, "error")
        out.addWidget(self.reasons)
        self.details = QLabel("", outcome)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        out.addWidget(self.details)
        self.change_caption = QLabel(tr("TROCO"), outcome)
        self.change_caption.setObjectName("totalCaption")
        out.addWidget(self.change_caption)
        self.change_label = QLabel(brl(change), outcome)
        self.change_label.setObjectName("changeValue")
        out.addWidget(self.change_label)
        self.print_status = QLabel("", outcome)
        self.print_status.setWordWrap(True)
        out.addWidget(self.print_status)
        self.scans_label = QLabel("", outcome)
        out.addWidget(self.scans_label)
        out.addStretch(1)
        row = QHBoxLayout()
        self.secondary = key_button(tr("Reimprimir"), "F5", self._secondary, parent=self, focusable=False)
        self.primary = QPushButton(tr("Nova venda (Enter)"), self)
        self.primary.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.primary.setAutoDefault(False)
        set_role(self.primary, "primary")
        self.primary.clicked.connect(self._primary)
        self.secondary.setAutoDefault(False)
        row.addWidget(self.secondary)
        row.addStretch(1)
        row.addWidget(self.primary)
        out.addLayout(row)
        self.pages.addWidget(outcome)

        self.preview = ReceiptView(self)
        self.preview.setVisible(False)
        layout.addWidget(self.preview)

        self._timer = QTimer(self)
        self._timer.setInterval(250)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._tick()
        fit_to_screen(self, PREFERRED_SIZE)  # room for the receipt beside the outcome

    # -- progress ------------------------------------------------------------------------

    def _tick(self) -> None:
        seconds = int(time.monotonic() - self._started)
        self.elapsed.setText(tr("Aguardando o emissor… ") + f"{seconds} s")

    def held_scans(self, count: int) -> None:
        text = tr("Leituras guardadas para a próxima venda: ") + str(count) if count else ""
        self.held_label.setText(text)
        self.scans_label.setText(text)

    # -- outcome -------------------------------------------------------------------------

    async def show_report(self, report: IssueReport) -> None:
        self.report = report
        self.busy = False
        self._timer.stop()
        state = report.state
        self.title.setText(tr(_TITLES.get(state, state.label.upper())))
        self.explain.setText(tr(_EXPLAIN.get(state, report.message)))
        say = SAY_TO_CUSTOMER.get(state, "")
        self.tell_customer.setText(tr(say))
        self.tell_customer.setVisible(bool(say))
        shows_change = state is not SaleState.REJECTED and self._change > 0
        self.change_caption.setVisible(shows_change)
        self.change_label.setVisible(shows_change)
        if state is SaleState.REJECTED:
            plain = [plain_reason(e) for e in report.errors]
            official = [e for e in report.errors if plain_reason(e) != e]
            text = "\n".join(f"• {p}" for p in dict.fromkeys(plain))
            if official:
                text += "\n\n" + tr("Texto da SEFAZ: ") + "; ".join(official)
            self.reasons.setText(text or tr("O emissor não informou o motivo."))
            self.primary.setText(tr("Voltar e corrigir (Enter)"))
            self.secondary.setText(tr("F5  Reenviar"))
            self.secondary.setVisible(True)
        else:
            self.reasons.setText("")
            self.primary.setText(tr("Nova venda (Enter)"))
            self.secondary.setVisible(state is SaleState.AUTHORIZED)
            if state is SaleState.IN_DOUBT and report.errors:
                self.reasons.setText(tr("Detalhe: ") + tr(in_doubt_detail(report)))
        if report.note is not None:
            note = report.note
            lines = [
                tr("Número ") + f"{note.numero}  " + tr("Série ") + f"{note.serie}",
                tr("Chave ") + " ".join(note.chave[i : i + 4] for i in range(0, 44, 4)),
                tr("Autorizada em ") + local_datetime(note.authorized_at),
            ]
            if note.protocolo:
                lines.append(tr("Protocolo ") + note.protocolo)
            if note.contingency:
                lines.append(tr("Emitida em contingência: será transmitida à SEFAZ automaticamente."))
            self.details.setText("\n".join(lines))
        self._show_print(report)
        self.pages.setCurrentIndex(1)
        self.setFocus()
        if self._print_slip is not None and state in SAY_TO_CUSTOMER:
            remember(self, spawn(self.print_pending_slip(report)))
        if report.receipt:
            self._show_preview()
            await self.preview.show_receipt(report.receipt, self._paper_mm)

    async def print_pending_slip(self, report: IssueReport) -> None:
        """The non-fiscal slip of a queued or in-doubt sale (the customer leaves with it)."""
        if self._print_slip is None:
            return
        self.print_status.setText(tr("Imprimindo o comprovante provisório (não é documento fiscal)…"))
        set_role(self.print_status, None)
        try:
            result = await self._print_slip(report)
        except Exception as exc:
            self.print_status.setText(
                tr("Comprovante provisório não impresso: ")
                + error_text(exc, "printing the pending slip failed")
            )
            set_role(self.print_status, "error")
            return
        if result is None:
            self.print_status.setText("")
            return
        if result.ok:
            self.print_status.setText(tr("Comprovante provisório impresso: entregue ao cliente."))
        else:
            self.print_status.setText(
                tr("Comprovante provisório não impresso: ")
                + (result.error or tr("impressora não respondeu"))
                + tr(". A venda está guardada do mesmo jeito.")
            )
            set_role(self.print_status, "error")
        if result.data:
            self._show_preview()
            await self.preview.show_receipt(result.data, self._paper_mm)

    def _show_preview(self) -> None:
        """The receipt appears beside the outcome: the dialog grows (within its screen) so
        that neither the buttons nor the receipt are squeezed."""
        if self.preview.isVisible():
            return
        self.preview.setVisible(True)
        fit_to_screen(self, PREFERRED_SIZE.expandedTo(self.size()))

    def _show_print(self, report: IssueReport) -> None:
        if report.printed is None:
            self.print_status.setText("")
            return
        if report.printed:
            self.print_status.setText(tr("Cupom impresso."))
            set_role(self.print_status, None)
        else:
            self.print_status.setText(
                tr("Falha na impressão: ")
                + (report.print_error or tr("impressora não respondeu"))
                + tr(". A venda está autorizada; F5 reimprime.")
            )
            set_role(self.print_status, "error")

    def _primary(self) -> None:
        if self.busy or self.report is None:
            return
        self.choice = Choice.FIX if self.report.state is SaleState.REJECTED else Choice.NEXT_SALE
        self.accept()

    def _secondary(self) -> None:
        if self.busy or self.report is None:
            return
        if self.report.state is SaleState.REJECTED:
            self.choice = Choice.RESEND
            self.accept()
        elif self.report.state is SaleState.AUTHORIZED:
            remember(self, spawn(self.reprint()))

    async def reprint(self) -> None:
        if self.report is None:
            return
        self.print_status.setText(tr("Reimprimindo…"))
        try:
            report = await self._reprint(self.report.sale_id)
        except Exception as exc:
            self.print_status.setText(
                tr("Falha na reimpressão: ") + error_text(exc, "reprint from the outcome screen failed")
            )
            set_role(self.print_status, "error")
            return
        self._show_print(report)
        if report.receipt:
            self._show_preview()
            await self.preview.show_receipt(report.receipt, self._paper_mm)

    # -- keys: the scanner's text goes to the next sale ---------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        now = time.monotonic()
        if now - self._last_key > SCAN_GAP_S:
            self._buffer = ""  # a pause: whatever came before was not one scan with this key
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            code, self._buffer = self._buffer, ""
            if sum(ch.isdigit() for ch in code) >= MIN_SCAN_DIGITS:
                self._scan_sink(code)
            elif not self.busy:
                self._primary()
            event.accept()
            return
        if key == Qt.Key.Key_Escape:
            self._buffer = ""
            event.accept()  # never closes by accident; choose an action
            return
        if key in _SCROLL_KEYS:  # the receipt down to its QR code, without a mouse
            _scroll(self.preview.verticalScrollBar(), key)
            event.accept()
            return
        text = event.text()
        if text and text.isprintable():
            self._buffer += text
            self._last_key = now
            event.accept()
            return
        super().keyPressEvent(event)

    def reject(self) -> None:
        if self.busy:
            return
        super().reject()

    def done(self, result: int) -> None:
        self._timer.stop()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.busy:
            event.ignore()
            return
        super().closeEvent(event)


_SCROLL_KEYS = (
    Qt.Key.Key_Up,
    Qt.Key.Key_Down,
    Qt.Key.Key_PageUp,
    Qt.Key.Key_PageDown,
    Qt.Key.Key_Home,
    Qt.Key.Key_End,
)


def _scroll(bar: QScrollBar, key: int) -> None:
    """↑/↓ a line, PgUp/PgDn a page, Home/End the top or the bottom of the receipt."""
    if key == Qt.Key.Key_Home:
        bar.setValue(bar.minimum())
    elif key == Qt.Key.Key_End:
        bar.setValue(bar.maximum())
    else:
        step = bar.pageStep() if key in (Qt.Key.Key_PageUp, Qt.Key.Key_PageDown) else bar.singleStep() * 3
        bar.setValue(bar.value() + (step if key in (Qt.Key.Key_Down, Qt.Key.Key_PageDown) else -step))
