"""The Qt binding must not leak references to None/True (a 6.12.0 regression on
Python 3.11 aborts the app after a few thousand events: see ``known_binding_problem``)."""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, QTimerEvent, Signal
from PySide6.QtWidgets import QApplication

from posapp.ui.qt import known_binding_problem

ROUNDS = 200


class _Ticker(QObject):
    ping = Signal()

    def timerEvent(self, event: QTimerEvent) -> None:
        self.killTimer(event.timerId())


def test_no_reference_leak_on_events_and_emits(qapp: QApplication) -> None:
    ticker = _Ticker()
    ticker.ping.connect(lambda: None)
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(ROUNDS):
        ticker.startTimer(0)
        qapp.processEvents()
        ticker.ping.emit()
    none_lost = none_before - sys.getrefcount(None)
    true_lost = true_before - sys.getrefcount(True)
    # Give back what a broken binding took, so this test does not abort the run itself.
    for obj, lost in ((None, none_lost), (True, true_lost)):
        for _ in range(max(lost, 0)):
            ctypes.pythonapi.Py_IncRef(ctypes.py_object(obj))
    assert none_lost < ROUNDS // 2 and true_lost < ROUNDS // 2, (
        f"lost {none_lost} refs to None and {true_lost} to True in {ROUNDS} events: {known_binding_problem()}"
    )
