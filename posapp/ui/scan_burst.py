"""A keyboard-wedge scan typed into a dialog goes to the scan queue, not into the field.

A USB scanner in keyboard mode "types" the barcode and Enter, a few milliseconds per key.
With a dialog open over the checkout (the payment amount, the number of the line to void,
a manager's PIN) that burst would land in the focused field and the Enter would confirm
it: R$ 7.891.000.315.507,00 in cash, or a 13-digit "PIN" counted as a wrong one.

:class:`ScanBurstFilter` watches key presses application-wide. Digits arriving faster than
a person types (:data:`MAX_GAP_S` apart at most) are let through as usual, but remembered
together with what the field held before the first of them; if Enter follows just as fast
after at least :data:`MIN_DIGITS` digits, it was a scanner: the field gets its old text
back, the Enter is swallowed, and the code is handed to ``sink`` (the checkout's scan
queue, which holds it until the dialog closes). Anything slower, shorter, or broken by
another key is typing and is left alone, so a person never waits for a key to appear.

A window or widget that reads scans on purpose (the chave field of the in-doubt dialog,
the issue outcome screen with its own capture) sets the :data:`PASSTHROUGH` property, and
so does every free *text* field of a dialog (:func:`text_field`: the consumer's CPF/CNPJ,
the product search, a note, a motivo, a login): a burst typed there — a CPF read by a
scanner, or typed at scanner speed — belongs to that field and is never replayed as a
product code. Bursts are taken only out of fields where a scan would do harm: amounts,
PINs, line numbers, and buttons (where the Enter would confirm).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from posapp.ui.qt import (
    QAbstractSpinBox,
    QApplication,
    QDialog,
    QEvent,
    QKeyEvent,
    QLineEdit,
    QObject,
    Qt,
    QWidget,
)

MAX_GAP_S = 0.05  # a scanner sends a key every few ms; a fast typist needs 80 ms or more
MIN_DIGITS = 8  # the shortest GTIN (EAN-8); PINs and amounts are shorter
PASSTHROUGH = "posappScanPassthrough"  # widget property: "this one wants scans as typed"

_ENTER = (Qt.Key.Key_Return, Qt.Key.Key_Enter)


@dataclass(slots=True)
class _FieldState:
    """What a line edit showed before the burst (to put it back)."""

    text: str
    cursor: int
    selection_start: int
    selection_length: int

    @classmethod
    def of(cls, edit: QLineEdit) -> _FieldState:
        return cls(edit.text(), edit.cursorPosition(), edit.selectionStart(), len(edit.selectedText()))

    def restore(self, edit: QLineEdit) -> None:
        edit.setText(self.text)
        if self.selection_length and self.selection_start >= 0:
            edit.setSelection(self.selection_start, self.selection_length)
        else:
            edit.setCursorPosition(self.cursor)


def text_field(widget: QWidget) -> None:
    """Mark ``widget`` as a free text field: scan bursts typed into it stay in it."""
    widget.setProperty(PASSTHROUGH, True)


def _line_edit(widget: QWidget) -> QLineEdit | None:
    if isinstance(widget, QLineEdit):
        return widget
    if isinstance(widget, QAbstractSpinBox):
        return widget.lineEdit()
    return None


def _passthrough(widget: QWidget) -> bool:
    current: QWidget | None = widget
    while current is not None:
        if current.property(PASSTHROUGH):
            return True
        current = current.parentWidget()
    return False


def in_dialog(widget: QWidget) -> bool:
    """The default ``active`` test: the key goes to a dialog (not the checkout itself)."""
    return isinstance(widget.window(), QDialog)


class ScanBurstFilter(QObject):
    """Install with ``QApplication.instance().installEventFilter(filter)``; remove likewise.

    ``sink(code)`` receives each scan taken out of a dialog; ``active(widget)`` says whether
    keys for ``widget`` are watched at all (default: widgets inside a dialog).
    """

    def __init__(
        self,
        sink: Callable[[str], None],
        *,
        active: Callable[[QWidget], bool] = in_dialog,
        clock: Callable[[], float] = time.monotonic,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._sink = sink
        self._active = active
        self._clock = clock
        self._digits = ""
        self._last = 0.0
        self._target: QWidget | None = None
        self._before: _FieldState | None = None
        self.captured = 0  # scans taken out of dialogs (tests, logs)

    def _reset(self) -> None:
        self._digits = ""
        self._target = None
        self._before = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return False
        # A key press is offered to the window, then the focus widget, then its parents;
        # only the focus widget's turn counts (once per key).
        if not isinstance(watched, QWidget) or watched is not QApplication.focusWidget():
            return False
        if not self._active(watched) or _passthrough(watched):
            self._reset()
            return False
        return self._key(watched, event)

    def _key(self, widget: QWidget, event: QKeyEvent) -> bool:
        now = self._clock()
        fast = bool(self._digits) and widget is self._target and now - self._last <= MAX_GAP_S
        if event.key() in _ENTER:
            if fast and len(self._digits) >= MIN_DIGITS:
                code = self._digits
                edit = _line_edit(widget)
                if edit is not None and self._before is not None:
                    self._before.restore(edit)
                self._reset()
                self.captured += 1
                self._sink(code)
                return True  # the Enter is the scanner's, not a confirmation
            self._reset()
            return False
        text = event.text()
        plain = event.modifiers() in (
            Qt.KeyboardModifier.NoModifier,
            Qt.KeyboardModifier.KeypadModifier,
        )
        if len(text) == 1 and text.isascii() and text.isdigit() and plain and not event.isAutoRepeat():
            if not fast:
                self._reset()
                self._target = widget
                edit = _line_edit(widget)
                self._before = _FieldState.of(edit) if edit is not None else None
            self._digits += text
            self._last = now
            return False  # typed as usual; taken back only if Enter proves it was a scan
        self._reset()
        return False
