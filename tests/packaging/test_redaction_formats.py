"""No full CPF or CNPJ of a consumer in any log line or crash report (issue 12, item 8), whatever
way it was written: digits only, formatted, spaced, with odd separators, form- or percent-encoded."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.crash import CrashHandler
from posapp.logging_setup import redact, setup_logging

CPF = "52998224725"
CNPJ = "22769530000131"

# What people, forms and URL encoders put between the groups of a document number.
SEPARATORS = [
    "",
    " ",
    ".",
    "-",
    "/",
    "_",
    "+",
    "\u00a0",  # no-break space (copied from a spreadsheet)
    "\u2013",  # en dash (a word processor's "-")
    "\t",
    "%20",
    "%2B",
    "%2D",
    "%2E",
    "%2F",
    "%2e",
    "%C2%A0",
    " / ",
    ". ",
]


def _grouped(digits: str, sizes: tuple[int, ...], seps: list[str]) -> str:
    parts, at = [], 0
    for size in sizes:
        parts.append(digits[at : at + size])
        at += size
    out = parts[0]
    for sep, part in zip(seps, parts[1:], strict=True):
        out += sep + part
    return out


def _leaks(out: str, digits: str, keep: int) -> bool:
    """Whether ``out`` still holds the document beyond its last ``keep`` digits."""
    only_digits = re.sub(r"\D", "", re.sub(r"%[0-9A-Fa-f]{2}", "", out))
    return digits[:-keep] in only_digits


@pytest.mark.parametrize("sep", SEPARATORS, ids=repr)
def test_cpf_with_any_separator_is_masked(sep: str) -> None:
    text = _grouped(CPF, (3, 3, 3, 2), [sep] * 3)
    for shape in (f"cpf {text} ok", f"cpf={text}&x=1", f'{{"cpf": "{text}"}}', f"%22{text}%22"):
        out = redact(shape)
        assert not _leaks(out, CPF, 2), (shape, out)
        assert out.count("***") >= 3


@pytest.mark.parametrize("sep", SEPARATORS, ids=repr)
def test_cnpj_with_any_separator_is_masked(sep: str) -> None:
    text = _grouped(CNPJ, (2, 3, 3, 4, 2), [sep] * 4)
    for shape in (f"cnpj {text} ok", f"cnpj={text}&x=1", f'{{"cnpj": "{text}"}}', f"%22{text}%22"):
        out = redact(shape)
        assert not _leaks(out, CNPJ, 2), (shape, out)


@given(
    seps=st.lists(st.sampled_from(SEPARATORS), min_size=3, max_size=3),
    before=st.sampled_from(["", " ", "cpf=", "%22", '"', "CPF:", "(", "%3A"]),
    after=st.sampled_from(["", " ", "&", "%22", '"', ")", ".", ",", "%26"]),
)
def test_any_mix_of_separators_around_a_cpf(seps: list[str], before: str, after: str) -> None:
    out = redact(before + _grouped(CPF, (3, 3, 3, 2), seps) + after)
    assert not _leaks(out, CPF, 2), out


@given(
    seps=st.lists(st.sampled_from(SEPARATORS), min_size=4, max_size=4),
    before=st.sampled_from(["", " ", "cnpj=", "%22", '"', "CNPJ:"]),
)
def test_any_mix_of_separators_in_a_cnpj(seps: list[str], before: str) -> None:
    out = redact(before + _grouped(CNPJ, (2, 3, 3, 4, 2), seps) + " fim")
    assert not _leaks(out, CNPJ, 2), out


@pytest.mark.parametrize(
    "text",
    [
        "chave 53251122769530000131650010000000011000000014 autorizada",
        "chave 5325 1122 7695 3000 0131 6500 1000 0000 0110 0000 0014",
        "2026-11-21 20:01:02,123 INFO posapp.sim listening on 127.0.0.1:3434",
        "total R$ 1.234.567,89 em 12 itens; troco R$ 0,11",
        "protocolo 353250000012345 recebido em 21/11/2026 20:01",
        "GET /v2/nfce/3f2a9c1e-4b5d-4e6f-8a7b-9c0d1e2f3a4b?completa=1",
    ],
)
def test_what_support_needs_is_left_alone(text: str) -> None:
    assert redact(text) == text


ENCODED = [
    "529%2E982%2E247%2D25",
    "529+982+247+25",
    "22%2E769%2E530%2F0001%2D31",
    "22 769 530 0001 31",
    "529\u00a0982\u00a0247\u00a025",
]


def test_a_crash_report_holds_no_document_in_any_format(tmp_path: Path) -> None:
    """Through the fallback writer (no log handler yet) and through logging alike."""
    log_path = tmp_path / "logs" / "posapp.log"
    handler = CrashHandler(log_path=log_path, show_message=lambda text: None)
    message = "consumidor " + " / ".join(ENCODED)
    try:
        raise RuntimeError(message)
    except RuntimeError as exc:
        handler.report("test", type(exc), exc, exc.__traceback__)
    text = log_path.read_text(encoding="utf-8")
    assert "RuntimeError" in text
    assert not _leaks(text, CPF, 2) and not _leaks(text, CNPJ, 2), text


def test_a_logged_exception_holds_no_document(tmp_path: Path, clean_root_logger: logging.Logger) -> None:
    log_path = setup_logging(tmp_path / "logs")
    try:
        raise ValueError("recusado: " + " | ".join(ENCODED))
    except ValueError:
        logging.getLogger("posapp.test").exception("emissão falhou para %s", ENCODED[0])
    for h in logging.getLogger().handlers:
        h.flush()
    text = log_path.read_text(encoding="utf-8")
    assert "ValueError" in text
    assert not _leaks(text, CPF, 2) and not _leaks(text, CNPJ, 2), text
