"""The one place that imports Qt (and qasync). Everything in ``posapp.ui`` imports Qt
names from here, so a binding change or a workaround lives in one file; a test checks
that no other module imports PySide6 directly.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

import PySide6  # before qasync, which then takes this binding instead of probing for others
import qasync
from PySide6.QtCore import QCoreApplication, Qt
from PySide6.QtWidgets import QApplication

# PySide6 builds a class's Python type, with all its enums, the first time the class is
# looked up, and the few dozen below would cost start-up tens of milliseconds: each is
# looked up when a module first imports it from here (``__getattr__``), so the checkout's
# start pays only for the classes it shows (issue 11, "start fast"). Type checkers read:
if TYPE_CHECKING:
    from PySide6.QtCore import (
        QAbstractTableModel,
        QByteArray,
        QDate,
        QEvent,
        QModelIndex,
        QObject,
        QPersistentModelIndex,
        QRegularExpression,
        QSize,
        QTimer,
        Signal,
    )
    from PySide6.QtGui import (
        QAction,
        QBrush,
        QCloseEvent,
        QColor,
        QFont,
        QFontDatabase,
        QFontMetrics,
        QGuiApplication,
        QIcon,
        QImage,
        QKeyEvent,
        QKeySequence,
        QPainter,
        QPaintEvent,
        QPalette,
        QPixmap,
        QRegularExpressionValidator,
        QShortcut,
    )
    from PySide6.QtWidgets import (
        QAbstractItemView,
        QAbstractSpinBox,
        QCheckBox,
        QComboBox,
        QDateEdit,
        QDialog,
        QFileDialog,
        QFormLayout,
        QFrame,
        QGridLayout,
        QHBoxLayout,
        QHeaderView,
        QLabel,
        QLineEdit,
        QListWidget,
        QListWidgetItem,
        QMainWindow,
        QPlainTextEdit,
        QProgressBar,
        QPushButton,
        QScrollArea,
        QScrollBar,
        QSizePolicy,
        QSpinBox,
        QStackedWidget,
        QStatusBar,
        QTableView,
        QTabWidget,
        QVBoxLayout,
        QWidget,
    )

__all__ = [
    "QAbstractItemView",
    "QAbstractSpinBox",
    "QAbstractTableModel",
    "QAction",
    "QApplication",
    "QBrush",
    "QByteArray",
    "QCheckBox",
    "QCloseEvent",
    "QColor",
    "QComboBox",
    "QCoreApplication",
    "QDate",
    "QDateEdit",
    "QDialog",
    "QEvent",
    "QEventLoop",
    "QFileDialog",
    "QFont",
    "QFontDatabase",
    "QFontMetrics",
    "QFormLayout",
    "QFrame",
    "QGridLayout",
    "QGuiApplication",
    "QHBoxLayout",
    "QHeaderView",
    "QIcon",
    "QImage",
    "QKeyEvent",
    "QKeySequence",
    "QLabel",
    "QLineEdit",
    "QListWidget",
    "QListWidgetItem",
    "QMainWindow",
    "QModelIndex",
    "QObject",
    "QPaintEvent",
    "QPainter",
    "QPalette",
    "QPersistentModelIndex",
    "QPixmap",
    "QPlainTextEdit",
    "QProgressBar",
    "QPushButton",
    "QRegularExpression",
    "QRegularExpressionValidator",
    "QScrollArea",
    "QScrollBar",
    "QShortcut",
    "QSize",
    "QSizePolicy",
    "QSpinBox",
    "QStackedWidget",
    "QStatusBar",
    "QTabWidget",
    "QTableView",
    "QTimer",
    "QVBoxLayout",
    "QWidget",
    "Qt",
    "Signal",
    "known_binding_problem",
    "repolish",
    "tr",
]


_QT_MODULES = ("PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets")


def __getattr__(name: str) -> Any:
    """A Qt class of ``__all__``, looked up (and kept) on first use."""
    if name in __all__:
        for module_name in _QT_MODULES:
            value = getattr(importlib.import_module(module_name), name, None)
            if value is not None:
                globals()[name] = value
                return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def tr(text: str) -> str:
    """Translate a UI string (the source strings are Brazilian Portuguese)."""
    return QCoreApplication.translate("posapp", text)


def repolish(widget: QWidget) -> None:
    """Re-apply the style sheet after a dynamic property changed (``role``, ``status``).

    A widget not polished yet needs nothing: its first polish (when it is shown) reads the
    properties as they are then. Start-up so never asks for the style object, which would
    build PySide6's QStyle type and its enums (~6 ms) before the checkout is on screen."""
    if not widget.testAttribute(Qt.WidgetAttribute.WA_WState_Polished):
        return
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)


def known_binding_problem() -> str | None:
    """A message when the installed PySide6 is known to break this app, else ``None``.

    PySide6 6.12.0 on CPython < 3.12 drops a reference to ``None`` on every call from Qt
    into Python (event handlers, timers, slots) and to ``True`` on every ``emit``; None
    and the booleans are not immortal before 3.12, so the process aborts ("none_dealloc")
    after a few thousand events — minutes of use. 6.11.3 does not.
    """
    import sys

    if PySide6.__version__.startswith("6.12.0") and sys.version_info < (3, 12):
        return (
            f"PySide6 {PySide6.__version__} on Python {sys.version_info.major}.{sys.version_info.minor} "
            "has a reference-count bug that crashes the app after a few thousand events; "
            "install PySide6-Essentials 6.11.x (or use Python 3.12+)."
        )
    return None


class QEventLoop(qasync.QEventLoop):  # type: ignore[misc]
    """qasync 0.28's loop with the object-lifetime fixes of its later PR #158.

    With PySide6 >= 6.8 the loop's own QObjects (its timer, its thread-safe signaller,
    the socket notifiers) must not be owned by Python alone: a notifier destroyed by the
    garbage collector while Qt still has an event queued for it crashes the process
    (qasync issue #154, PYSIDE-3165). Here they are parented to the application and
    retired with ``deleteLater()``.
    """

    def __init__(self, app: QApplication | None = None, already_running: bool = False) -> None:
        self._owner = app or QApplication.instance()  # before: the base class adds a reader
        super().__init__(app, already_running=already_running)
        self._timer.setParent(self._owner)
        self._QEventLoop__call_soon_signaller.setParent(self._owner)

    def _add_reader(self, fd: object, callback: object, *args: object) -> None:
        super()._add_reader(fd, callback, *args)
        self._read_notifiers[fd].setParent(self._owner)

    def _add_writer(self, fd: object, callback: object, *args: object) -> None:
        super()._add_writer(fd, callback, *args)
        self._write_notifiers[fd].setParent(self._owner)

    def _remove_reader(self, fd: object) -> bool:
        notifier = None if self.is_closed() else self._read_notifiers.get(fd)
        removed = bool(super()._remove_reader(fd))
        if notifier is not None and removed:
            notifier.deleteLater()
        return removed

    def _remove_writer(self, fd: object) -> bool:
        notifier = None if self.is_closed() else self._write_notifiers.get(fd)
        removed = bool(super()._remove_writer(fd))
        if notifier is not None and removed:
            notifier.deleteLater()
        return removed

    def close(self) -> None:
        if self.is_closed():
            return
        timer, signaller = self._timer, self._QEventLoop__call_soon_signaller
        notifiers = [*self._read_notifiers.values(), *self._write_notifiers.values()]
        super().close()
        for qobject in (timer, signaller, *notifiers):
            qobject.deleteLater()
