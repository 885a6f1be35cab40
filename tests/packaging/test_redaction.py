"""The redaction filter: no full CPF/CNPJ and no token reaches a log file, support data survives."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.logging_setup import LOG_FILENAME, RedactingFilter, redact, setup_logging

CPF = "529.982.247-25"
CPF_BARE = "52998224725"
CNPJ = "22.769.530/0001-31"
CHAVE = "53251122769530000131650010000000011000000014"
FOCUS_TOKEN = "yrZ8kVuXe3pVJWMZoRrlNtNpCnvkAu1S"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIyMjc2OTUzMDAwMDEzMSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"


def _cpf_check_digits(nine: str) -> str:
    def digit(digits: str, start: int) -> int:
        rest = sum(int(d) * w for d, w in zip(digits, range(start, 1, -1), strict=False)) % 11
        return 0 if rest < 2 else 11 - rest

    first = digit(nine, 10)
    return f"{first}{digit(nine + str(first), 11)}"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"cliente CPF {CPF} na venda", "982.247"),
        (f"cliente CPF {CPF_BARE} na venda", CPF_BARE[:9]),
        (f'{{"customer": {{"document": "{CPF_BARE}"}}}}', CPF_BARE[:9]),
        (f"destinatário {CNPJ}", "769.530/0001"),
        ("destinatário 22769530000131", "227695300001"),
        (f"Authorization: Basic {FOCUS_TOKEN}", FOCUS_TOKEN),
        (f"headers={{'Authorization': '{JWT}'}}", JWT[:20]),
        (f"authorization={JWT}", JWT[:20]),
        (f"GET https://api.focusnfe.com.br/v2/nfce/abc?token={FOCUS_TOKEN}&x=1", FOCUS_TOKEN),
        ('{"token": "s3cr3t-value"}', "s3cr3t-value"),
        ("POSAPP_FOCUSNFE_TOKEN=short1", "short1"),
        ("senha: hunter22", "hunter22"),
        (f"https://{FOCUS_TOKEN}:@homologacao.focusnfe.com.br/v2/nfce", FOCUS_TOKEN),
        (f"bare token {FOCUS_TOKEN} in a message", FOCUS_TOKEN),
        (f"a JWT {JWT} alone", JWT[:20]),
        # URL-encoded JSON (a query string or a form body in a log line)
        (f"GET /x?q=%7B%22cpf%22%3A%22{CPF_BARE}%22%7D", CPF_BARE[:9]),
        ("body=%7B%22cnpj%22%3A%2222769530000131%22%7D", "227695300001"),
        # CPFs typed with spaces, dots or dashes in other positions
        ("cpf 529 982 247 25 informado", "982"),
        ("cpf 529-982-247-25", "982"),
        ("cpf 529.982.247.25", "982"),
        ("cpf 529982247-25", "529982247"),
        ("cpf 529 982.247-25", "982"),
    ],
)
def test_secrets_and_documents_are_masked(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert "***" in out
    assert redact(out) == out  # idempotent: a second handler changes nothing


def test_documents_keep_their_last_two_digits_and_shape() -> None:
    assert redact(f"CPF {CPF}") == "CPF ***.***.***-25"
    assert redact("CPF 529 982 247 25.") == "CPF *** *** *** 25."
    assert redact(f"%22cpf%22%3A%22{CPF_BARE}%22") == "%22cpf%22%3A%22*********25%22"
    assert redact(f"CNPJ {CNPJ}") == "CNPJ **.***.***/****-31"


@pytest.mark.parametrize(
    "text",
    [
        f"chave {CHAVE} autorizada",  # 44 digits: support needs it
        f"chave=%22{CHAVE}%22",  # also after a percent-escape
        "chave 5325 1122 7695 3000 0131 6500 1000 0000 0110 0000 0014",  # as printed, in groups
        "protocolo 353250000012345",  # 15 digits
        "sale 3f2a9c1e-4b5d-4e6f-8a7b-9c0d1e2f3a4b",  # a uuid sale id
        "sale 3f2a9c1e4b5d4e6f8a7b9c0d1e2f3a4b",
        "2026-11-21 20:01:02,123 INFO posapp.sim listening on 127.0.0.1:3434",
        "total R$ 1.234,56 em 3 itens",
        "token_env = POSAPP_FOCUSNFE_TOKEN",  # naming the variable is fine
    ],
)
def test_support_data_is_left_alone(text: str) -> None:
    assert redact(text) == text


@given(
    nine=st.text(alphabet="0123456789", min_size=9, max_size=9),
    formatted=st.booleans(),
    before=st.text(alphabet=st.characters(blacklist_categories=["Nd"]), max_size=20),
    after=st.text(alphabet=st.characters(blacklist_categories=["Nd"]), max_size=20),
)
def test_any_cpf_in_any_text_loses_its_first_nine_digits(
    nine: str, formatted: bool, before: str, after: str
) -> None:
    digits = nine + _cpf_check_digits(nine)
    shown = f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}" if formatted else digits
    out = redact(before + shown + after)
    assert re.sub(r"\D", "", out).count(digits) == 0
    assert digits[:9] not in re.sub(r"[^\d]", "", out)


def test_log_file_never_holds_cpf_or_token(tmp_path: Path, clean_root_logger: logging.Logger) -> None:
    log_path = setup_logging(tmp_path / "logs", level=logging.DEBUG)
    assert log_path == tmp_path / "logs" / LOG_FILENAME
    logger = logging.getLogger("posapp.test")
    logger.info("venda para %s com cabeçalho %s", CPF, {"Authorization": f"Basic {FOCUS_TOKEN}"})
    try:
        raise ValueError(f"provider said: bad token={FOCUS_TOKEN} for CPF {CPF_BARE}")
    except ValueError:
        logger.exception("issue failed for chave %s", CHAVE)
    logger.warning("stack here", stack_info=True)
    for handler in logging.getLogger().handlers:
        handler.flush()

    text = log_path.read_text(encoding="utf-8")
    assert FOCUS_TOKEN not in text
    assert CPF not in text and CPF_BARE not in text
    assert "***.***.***-25" in text
    assert CHAVE in text  # the chave survives
    assert "Traceback (most recent call last)" in text
    assert "ValueError: provider said: bad token=***" in text
    assert "INFO" in text and "posapp.test" in text


def test_handlers_that_existed_before_setup_are_filtered_too(
    tmp_path: Path, clean_root_logger: logging.Logger
) -> None:
    early = logging.FileHandler(tmp_path / "early.log", encoding="utf-8")
    clean_root_logger.addHandler(early)  # e.g. python-escpos' logging.basicConfig()
    setup_logging(tmp_path / "logs")
    logging.getLogger("escpos").warning("printer said %s", json.dumps({"token": FOCUS_TOKEN}))
    early.flush()
    text = (tmp_path / "early.log").read_text(encoding="utf-8")
    assert "printer said" in text
    assert FOCUS_TOKEN not in text
    assert any(isinstance(f, RedactingFilter) for f in early.filters)


def test_setup_twice_does_not_duplicate_lines(tmp_path: Path, clean_root_logger: logging.Logger) -> None:
    log_path = setup_logging(tmp_path)
    log_path = setup_logging(tmp_path, level="DEBUG")
    logging.getLogger("posapp.twice").debug("only once")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert log_path.read_text(encoding="utf-8").count("only once") == 1


def test_log_rotates_and_keeps_backups(tmp_path: Path, clean_root_logger: logging.Logger) -> None:
    log_path = setup_logging(tmp_path, max_bytes=4096, backup_count=2)
    logger = logging.getLogger("posapp.rotate")
    for i in range(400):
        logger.info("line %04d %s", i, "x" * 40)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [LOG_FILENAME, f"{LOG_FILENAME}.1", f"{LOG_FILENAME}.2"]
    assert log_path.stat().st_size <= 4096
    assert "line 0399" in log_path.read_text(encoding="utf-8")


def test_bad_format_arguments_still_log_something(tmp_path: Path, clean_root_logger: logging.Logger) -> None:
    log_path = setup_logging(tmp_path)
    bad_template = "two %s %s"  # a bug elsewhere must not lose the line
    logging.getLogger("posapp.bad").error(bad_template, "args?")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert "two %s %s" in log_path.read_text(encoding="utf-8")
