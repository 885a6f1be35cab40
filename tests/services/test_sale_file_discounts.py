"""SALE.json with discounts through ``posapp nfce emit`` against the Emites-Client simulator
(issue 13, item 4): the item's percent and the sale's discount reach the request as each
product's ``valor_desconto`` (vDesc), apportioned to the cent, and the authorized note's
totals carry them."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from posapp import cli
from posapp.domain.lifecycle import ExitCode
from posapp.domain.nfe_xml import read_nfe
from tests.support.emites_thread import EmitesInThread

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sale_with_discount.json"


def emit(data: Path, sim: EmitesInThread, sale: Path) -> int:
    return cli.main(
        ["nfce", "emit", str(sale), "--data-dir", str(data), "--emites", f"127.0.0.1:{sim.port}", "--json"]
    )


def discounts_sent(payload: bytes) -> list[Decimal]:
    """Every ``valor_desconto`` in the request, in order."""
    found: list[Decimal] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if "valor_desconto" in value:
                found.append(Decimal(str(value["valor_desconto"])))
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(json.loads(payload.decode("latin-1"), parse_float=Decimal))
    return found


def test_the_example_with_discounts_is_issued_with_vdesc_per_item(
    tmp_path: Path, emites: EmitesInThread, capsys: pytest.CaptureFixture[str]
) -> None:
    assert emit(tmp_path, emites, EXAMPLE) == ExitCode.DONE
    answer = json.loads(capsys.readouterr().out)
    assert answer["status"] == "authorized"
    # Cerveja 6 x 4,99 = 29,94, 10 % = 2,99; pão 0,375 x 15,90 = 5,96. The sale's 2,00 over
    # 26,95 and 5,96: 1,64 and 0,36 (largest remainder). vDesc 4,63 + 0,36 = 4,99.
    (request,) = [r for r in emites.requests() if b"valor_desconto" in r.payload]
    assert discounts_sent(request.payload) == [Decimal("4.63"), Decimal("0.36")]
    (issued,) = emites.notes()
    note = read_nfe(issued.xml)
    assert [item.discount for item in note.items] == [Decimal("4.63"), Decimal("0.36")]
    assert note.totals.products == Decimal("35.90")
    assert note.totals.discount == Decimal("4.99")
    assert note.totals.total == Decimal("30.91")
    capsys.readouterr()
    assert cli.main(["nfce", "list", "--data-dir", str(tmp_path), "--json"]) == ExitCode.DONE
    (sale,) = json.loads(capsys.readouterr().out)["sales"]
    assert Decimal(str(sale["total"])) == Decimal("30.91")


def test_a_sale_discount_too_large_is_refused_naming_the_field(
    tmp_path: Path, emites: EmitesInThread, capsys: pytest.CaptureFixture[str]
) -> None:
    data = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    data["discount"] = {"percent": "100"}
    sale = tmp_path / "sale.json"
    sale.write_text(json.dumps(data), encoding="utf-8")
    assert (
        cli.main(
            [
                "nfce",
                "emit",
                str(sale),
                "--data-dir",
                str(tmp_path / "d"),
                "--emites",
                f"127.0.0.1:{emites.port}",
            ]
        )
        == ExitCode.BAD_INPUT
    )
    assert "desconto.percentual: deve ser menor que 100" in capsys.readouterr().err
    assert emites.requests() == []
