"""Small building blocks shared by the screens: buttons with their key shown, the
function-key bar, a message dialog, a PIN prompt that checks the PIN off the GUI
thread and stays open on a wrong one, a label that elides instead of widening its window,
and the helper that sizes a window to the screen it is on (a till's screen is often
1024×768).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from posapp.errors import PosappError
from posapp.operators.accounts import Operator
from posapp.ui.errors import error_text
from posapp.ui.qt import (
    QDialog,
    QFrame,
    QGuiApplication,
    QHBoxLayout,
    QKeySequence,
    QLabel,
    QLineEdit,
    QPainter,
    QPaintEvent,
    QPalette,
    QPushButton,
    QShortcut,
    QSize,
    QSizePolicy,
    Qt,
    QVBoxLayout,
    QWidget,
    repolish,
    tr,
)
from posapp.ui.tasks import async_slot

log = logging.getLogger("posapp.ui")


def set_role(widget: QWidget, role: str | None) -> None:
    """Style hook (``role="primary"|"danger"|"error"|"warning"``) from the style sheet.

    Re-polishing costs milliseconds with the counter's style sheet, so it only happens
    when the role really changes (the checkout clears its message on every scan)."""
    value = role or ""
    if widget.property("role") == value:
        return
    widget.setProperty("role", value)
    repolish(widget)


WINDOW_FRAME = QSize(16, 48)  # what a window manager's borders and title bar take


def fit_to_screen(window: QWidget, preferred: QSize | None = None) -> None:
    """Size a top-level ``window`` to ``preferred`` (default: its size hint), never larger
    than the screen it is on (its parent's screen, before it is shown) less the frame."""
    parent = window.parentWidget()
    screen = (parent.screen() if parent is not None else None) or window.screen()
    if screen is None:
        screen = QGuiApplication.primaryScreen()
    if screen is None:
        return
    room = screen.availableGeometry().size() - WINDOW_FRAME
    window.ensurePolished()
    wanted = preferred if preferred is not None else window.sizeHint()
    window.resize(wanted.expandedTo(window.minimumSizeHint()).boundedTo(room))


def fill_screen(window: QWidget) -> None:
    """Give a till's main window its whole screen before it is shown maximized: a kiosk
    till's X session often has no window manager, and there ``showMaximized`` does nothing
    (the checkout stayed 1008x715 on a 1024x768 screen under Xvfb)."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is not None:
        window.setGeometry(screen.availableGeometry())


def grow_to_contents(window: QWidget) -> None:
    """Make a shown window tall enough for what its layout holds now (a word-wrapped
    error that just appeared), within its screen: Qt does not grow it by itself."""
    layout = window.layout()
    if layout is None:
        return
    layout.activate()
    width = window.width()
    needed = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else -1
    needed = max(needed, layout.totalMinimumSize().height())
    if needed > window.height():
        window.resize(width, needed)


class ElidedLabel(QLabel):
    """One line of text that never widens its window: when there is no room it ends in
    "…" and the whole text is in the tooltip. ``keep`` characters at the start stay
    visible (the minimum width), so a count in front is never cut."""

    def __init__(self, text: str = "", parent: QWidget | None = None, *, keep: int = 0) -> None:
        super().__init__(text, parent)
        self._keep = keep
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setToolTip(text)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def _extra(self) -> int:
        margins = self.contentsMargins()
        return margins.left() + margins.right() + 2 * self.margin() + 4

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        width = self.fontMetrics().horizontalAdvance(self.text()) + self._extra()
        return QSize(width, hint.height())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        shown = self.text()[: self._keep]
        width = self.fontMetrics().horizontalAdvance(shown + "…") + self._extra() if shown else 0
        return QSize(width, hint.height())

    def elided(self) -> str:
        """The text as it fits the label's width now."""
        return self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, max(self.contentsRect().width() - 2 * self.margin(), 0)
        )

    def paintEvent(self, event: QPaintEvent) -> None:
        QFrame.paintEvent(self, event)
        text = self.elided()
        if not text:
            return
        painter = QPainter(self)
        rect = self.contentsRect().adjusted(self.margin(), self.margin(), -self.margin(), -self.margin())
        # What QStyle.drawItemText does for a label (the style sheet's color is in the
        # palette), without asking for the style object while the checkout first paints.
        pen = painter.pen()
        pen.setBrush(self.palette().brush(QPalette.ColorRole.WindowText))
        painter.setPen(pen)
        painter.drawText(rect, int(self.alignment()), text)
        painter.end()


def key_button(
    label: str,
    key: str | None,
    slot: Callable[[], object] | None = None,
    *,
    parent: QWidget,
    role: str | None = None,
    focusable: bool = True,
) -> QPushButton:
    """A button that says its key (``F10 Pagar``) and answers to it anywhere in its window."""
    button = QPushButton(f"{key}  {label}" if key else label, parent)
    if role:
        set_role(button, role)
    if not focusable:
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    if slot is not None:
        button.clicked.connect(lambda _checked=False: slot())
    if key:
        shortcut = QShortcut(QKeySequence(key), parent)
        shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
        shortcut.activated.connect(button.click)
    return button


class MessageDialog(QDialog):
    """A message with one button; Enter or Esc closes it."""

    def __init__(self, title: str, text: str, *, level: str = "info", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        self.text_label = QLabel(text, self)
        self.text_label.setWordWrap(True)
        self.text_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        if level in ("error", "warning"):
            set_role(self.text_label, level)
        layout.addWidget(self.text_label)
        button = QPushButton(tr("OK (Enter)"), self)
        button.setDefault(True)
        button.clicked.connect(self.accept)
        layout.addWidget(button, alignment=Qt.AlignmentFlag.AlignRight)
        self.setMinimumWidth(520)


class ConfirmDialog(QDialog):
    """Yes/no: Enter confirms, Esc goes back."""

    def __init__(self, title: str, text: str, *, confirm: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        layout = QVBoxLayout(self)
        label = QLabel(text, self)
        label.setWordWrap(True)
        layout.addWidget(label)
        row = QHBoxLayout()
        back = QPushButton(tr("Voltar (Esc)"), self)
        back.clicked.connect(self.reject)
        ok = QPushButton(f"{confirm} (Enter)", self)
        set_role(ok, "danger")
        ok.setDefault(True)
        ok.clicked.connect(self.accept)
        row.addWidget(back)
        row.addStretch(1)
        row.addWidget(ok)
        layout.addLayout(row)
        self.setMinimumWidth(520)


PinCheck = Callable[[str], Awaitable[Operator]]


class PinDialog(QDialog):
    """Asks a PIN (and optionally a login) and checks it with ``check`` off the GUI thread.

    A wrong PIN keeps the dialog open with the reason; the accepted operator is in
    :attr:`operator` after ``accept``.
    """

    def __init__(
        self,
        title: str,
        prompt: str,
        check: PinCheck,
        *,
        extra: Sequence[QWidget] = (),
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self._check = check
        self.operator: Operator | None = None
        layout = QVBoxLayout(self)
        label = QLabel(prompt, self)
        label.setWordWrap(True)
        layout.addWidget(label)
        for widget in extra:
            layout.addWidget(widget)
        self.pin = QLineEdit(self)
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText(tr("PIN do gerente"))
        self.pin.setMaxLength(12)
        self.pin.returnPressed.connect(self.submit)
        layout.addWidget(self.pin)
        self.error = QLabel("", self)
        set_role(self.error, "error")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)
        row = QHBoxLayout()
        back = QPushButton(tr("Voltar (Esc)"), self)
        back.setAutoDefault(False)
        back.clicked.connect(self.reject)
        self.ok = QPushButton(tr("Confirmar (Enter)"), self)
        self.ok.setAutoDefault(False)
        set_role(self.ok, "primary")
        self.ok.clicked.connect(self.submit)
        row.addWidget(back)
        row.addStretch(1)
        row.addWidget(self.ok)
        layout.addLayout(row)
        self.setMinimumWidth(480)
        self.pin.setFocus()

    @async_slot
    async def submit(self) -> None:
        if not self.ok.isEnabled():  # the previous Enter's check is still running
            return
        pin = self.pin.text()
        if not pin:
            self.error.setText(tr("Digite o PIN."))
            return
        self.ok.setEnabled(False)
        try:
            self.operator = await self._check(pin)
        except PosappError as exc:
            self.error.setText(error_text(exc, "PIN check failed"))
            self.pin.clear()
            self.pin.setFocus()
            return
        except Exception as exc:
            self.error.setText(error_text(exc, "PIN check failed"))
            return
        finally:
            self.ok.setEnabled(True)
        self.accept()
