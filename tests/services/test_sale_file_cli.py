"""``posapp nfce emit`` with a bad SALE.json (issue 12, item 7): exit 2, one or two Portuguese
lines naming the field, no traceback, nothing in the journal, no request at a real Emites-Client
simulator listening on loopback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from posapp import cli
from posapp.domain.lifecycle import ExitCode
from tests.conftest import sale_mapping
from tests.domain.test_sale_validation import ENGLISH
from tests.support.emites_thread import EmitesInThread

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sale.json"


def emit(data: Path, sim: EmitesInThread, sale: Path, *extra: str) -> int:
    return cli.main(
        ["nfce", "emit", str(sale), "--data-dir", str(data), "--emites", f"127.0.0.1:{sim.port}", *extra]
    )


def journal_sales(capsys: pytest.CaptureFixture[str], data: Path) -> list[dict[str, Any]]:
    capsys.readouterr()
    assert cli.main(["nfce", "list", "--data-dir", str(data), "--json"]) == ExitCode.DONE
    sales: list[dict[str, Any]] = json.loads(capsys.readouterr().out)["sales"]
    return sales


def with_item(**fields: Any) -> bytes:
    data = sale_mapping()
    data["items"][0].update(fields)
    return json.dumps(data).encode()


BAD_FILES: list[tuple[str, bytes, str]] = [
    ("cfop-6102", with_item(cfop="6102"), "itens[1].cfop: CFOP 6102 não é aceito na NFC-e"),
    ("gtin-zeros", with_item(gtin="0000000000000"), "itens[1].gtin: GTIN 0000000000000 (só zeros)"),
    ("qcom-over-11v4", with_item(quantity="123456789012"), "itens[1].quantidade: no máximo 11 dígitos"),
    ("price-0.001", with_item(quantity="1", unit_price="0.001"), "itens[1].valor_unitario: o total do item"),
    ("discount-above-line", with_item(discount="99.00"), "itens[1].desconto: R$ 99,00 deve ser menor"),
    (
        "duplicate-key",
        json.dumps(sale_mapping()).replace('"quantity": "6"', '"quantity": "6", "quantity": "60"').encode(),
        "itens[1].quantidade: campo repetido",
    ),
    (
        "card-on-cash",
        json.dumps(
            sale_mapping(payments=[{"method": "dinheiro", "amount": "50.00", "card": {"brand": "01"}}])
        ).encode(),
        "pagamentos[1].cartao: dados de cartão só em pagamento com cartão",
    ),
    (
        "latin1",
        json.dumps(sale_mapping(), ensure_ascii=False).encode("latin-1"),
        "SALE.json: o arquivo deve estar em UTF-8",
    ),
    (
        "exponent",
        with_item(quantity="@").replace(b'"@"', b"1e999999"),
        "itens[1].quantidade: número fora do limite",
    ),
    ("deep", b"[" * 100_000, "SALE.json: aninhamento profundo demais"),
]


@pytest.mark.parametrize(("raw", "expected"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_sale_file_exits_2_in_portuguese_and_nothing_is_stored_or_sent(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread, raw: bytes, expected: str
) -> None:
    data = tmp_path / "data"
    sale = tmp_path / "SALE.json"
    sale.write_bytes(raw)

    assert emit(data, emites, sale) == ExitCode.BAD_INPUT
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert 1 <= len(lines) <= 2, captured.err
    assert lines[0].startswith(f"erro: {expected}"), captured.err
    assert "Traceback" not in captured.err
    assert not ENGLISH.search(captured.err), captured.err

    assert emites.requests() == []
    assert journal_sales(capsys, data) == []


def test_json_answer_carries_the_same_message(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread
) -> None:
    sale = tmp_path / "SALE.json"
    sale.write_bytes(with_item(cfop="6102", ncm="22"))
    assert emit(tmp_path / "data", emites, sale, "--json") == ExitCode.BAD_INPUT
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == "invalid"
    assert answer["errors"][0].splitlines() == [
        "itens[1].ncm: deve ter 8 dígitos (cadastre o NCM do produto)",
        "itens[1].cfop: CFOP 6102 não é aceito na NFC-e (a NFC-e é só para venda dentro do estado: 5.xxx); "
        "use um de: 5101, 5102, 5103, 5104, 5115, 5405, 5656, 5667",
    ]
    assert emites.requests() == []


def test_a_ten_megabyte_file_is_refused_without_being_read_whole(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread
) -> None:
    sale = tmp_path / "SALE.json"
    sale.write_bytes(b" " * 10_000_000 + json.dumps(sale_mapping()).encode())
    assert emit(tmp_path / "data", emites, sale) == ExitCode.BAD_INPUT
    assert "grande demais" in capsys.readouterr().err
    assert emites.requests() == []


def test_a_missing_file_is_said_in_portuguese(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread
) -> None:
    assert emit(tmp_path / "data", emites, tmp_path / "nao-existe.json") == ExitCode.BAD_INPUT
    assert capsys.readouterr().err.strip().endswith("nao-existe.json: arquivo não encontrado")


def test_the_readme_example_still_goes_out(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread
) -> None:
    data = tmp_path / "data"
    assert emit(data, emites, EXAMPLE, "--json") == ExitCode.DONE
    assert json.loads(capsys.readouterr().out)["status"] == "authorized"
    assert len(emites.requests()) == 1
    assert [s["status"] for s in journal_sales(capsys, data)] == ["authorized"]
