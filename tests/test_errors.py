"""What a person may read about an error (:func:`posapp.errors.user_text`): a known error's
Portuguese message; anything else a Portuguese sentence with a reference that the log
carries together with the detail and the traceback."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from posapp.domain.errors import InvalidSale
from posapp.errors import (
    REFERENCE_PATTERN,
    UNEXPECTED_TEXT,
    UNEXPECTED_USER_MESSAGE,
    PosappError,
    has_user_message,
    new_reference,
    user_text,
)
from posapp.logging_setup import setup_logging

ENGLISH = re.compile(r"\b(the|error|failed|cannot|not|of|request|KeyError|Traceback)\b")


def _raised(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:
        return caught


def test_a_known_error_shows_its_portuguese_message_and_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    exc = InvalidSale("sale has no items", user_message="A venda não tem itens.")
    with caplog.at_level(logging.DEBUG):
        assert user_text(exc) == "A venda não tem itens."
    assert caplog.records == []
    assert has_user_message(exc) and exc.has_user_message


@pytest.mark.parametrize(
    "exc",
    [
        PosappError("request prepared for 'focusnfe' sent to 'emites'"),  # ours, without a user message
        KeyError("chave"),
        RuntimeError("bug in the flow"),
    ],
    ids=["posapp-error-without-user-message", "key-error", "runtime-error"],
)
def test_anything_else_is_the_generic_sentence_with_a_logged_reference(
    exc: BaseException, caplog: pytest.LogCaptureFixture
) -> None:
    exc = _raised(exc)
    with caplog.at_level(logging.ERROR, logger="posapp"):
        text = user_text(exc, context="checkout flow pay")
    match = REFERENCE_PATTERN.search(text)
    assert match is not None
    reference = match.group(1)
    assert text == UNEXPECTED_TEXT.format(reference=reference)
    assert text.startswith("Ocorreu um erro inesperado. Referência: ")
    assert not ENGLISH.search(text) and str(exc) not in text
    [record] = caplog.records
    assert record.levelno == logging.ERROR and record.name == "posapp.errors"
    message = record.getMessage()
    assert reference in message and "checkout flow pay" in message and type(exc).__name__ in message
    assert record.exc_info is not None and record.exc_info[1] is exc  # the traceback goes along
    assert not has_user_message(exc)


def test_the_log_line_goes_to_the_callers_logger(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        text = user_text(ValueError("x"), logger=logging.getLogger("posapp.ui"))
    assert [r.name for r in caplog.records] == ["posapp.ui"]
    match = REFERENCE_PATTERN.search(text)
    assert match is not None and match.group(1) in caplog.records[0].getMessage()


def test_references_are_short_unambiguous_and_differ() -> None:
    references = {new_reference() for _ in range(200)}
    assert len(references) > 190
    for reference in references:
        assert re.fullmatch(r"[A-HJKMNP-Z2-9]{6}", reference), reference


def test_an_error_without_a_user_message_never_carries_english() -> None:
    exc = PosappError("journal write failed: disk I/O error")
    assert exc.user_message == UNEXPECTED_USER_MESSAGE
    assert not exc.has_user_message
    assert str(exc) == "journal write failed: disk I/O error"  # the detail stays for the log
    empty = PosappError("detail", user_message="")
    assert not empty.has_user_message


def test_rewrapping_the_stand_in_keeps_it_unexpected(caplog: pytest.LogCaptureFixture) -> None:
    """A service that re-raises ``X(str(exc), user_message=exc.user_message)`` passes the
    stand-in along: the person still gets a reference, and the log the whole chain."""
    inner = PosappError("reference 'x y' must match [A-Z]+")
    try:
        try:
            raise inner
        except PosappError as exc:
            raise InvalidSale(str(exc), user_message=exc.user_message) from exc
    except InvalidSale as raised:
        outer = raised
        with caplog.at_level(logging.ERROR):
            text = user_text(outer)
    assert REFERENCE_PATTERN.search(text)
    assert "must match" not in text
    record = caplog.records[0]
    assert record.exc_info is not None and record.exc_info[1] is outer and outer.__cause__ is inner


def test_the_log_file_has_the_reference_and_the_detail_redacted(
    tmp_path: Path, clean_root_logger: logging.Logger
) -> None:
    log_path = setup_logging(tmp_path)
    cpf = "529.982.247-25"
    text = user_text(_raised(LookupError(f"no customer {cpf} in the table")), context="customer lookup")
    for handler in logging.getLogger().handlers:
        handler.flush()
    match = REFERENCE_PATTERN.search(text)
    assert match is not None
    written = log_path.read_text(encoding="utf-8")
    assert f"reference {match.group(1)} (customer lookup): LookupError" in written
    assert "Traceback (most recent call last)" in written
    assert cpf not in written and "***.***.***-25" in written


@pytest.fixture
def clean_root_logger() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    logging.captureWarnings(False)
