"""One line of the doctor's report, and the three grades a check can give."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


LABELS = {Level.OK: "[ OK  ]", Level.WARN: "[AVISO]", Level.FAIL: "[FALHA]"}


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One line of the report: what was checked, how it went, and what to do about it."""

    title: str
    level: Level
    message: str
    action: str = ""


def ok(title: str, message: str) -> CheckResult:
    return CheckResult(title, Level.OK, message)


def warn(title: str, message: str, action: str) -> CheckResult:
    return CheckResult(title, Level.WARN, message, action)


def fail(title: str, message: str, action: str) -> CheckResult:
    return CheckResult(title, Level.FAIL, message, action)
