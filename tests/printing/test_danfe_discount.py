"""The DANFE of a sale with discounts (issue 13, item 4): the native layout prints each
item's vDesc under the item and the note's "Descontos" line in the totals block, read from
the authorized XML, and what is left to pay; decoded back from the ESC/POS bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pytest

from posapp import cli
from posapp.domain.lifecycle import ExitCode
from posapp.printing.options import ReceiptOptions
from posapp.printing.render import render_danfe
from tests.printing.checks import assert_well_formed, decode, flat, has_row
from tests.support.emites_thread import EmitesInThread

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sale_with_discount.json"


@pytest.mark.parametrize("paper_mm", [58, 80])
def test_item_and_total_discounts_on_the_native_danfe(
    tmp_path: Path, paper_mm: Literal[58, 80], capsys: pytest.CaptureFixture[str]
) -> None:
    with EmitesInThread() as sim:
        argv = [
            "nfce",
            "emit",
            str(EXAMPLE),
            "--data-dir",
            str(tmp_path),
            "--emites",
            f"127.0.0.1:{sim.port}",
        ]
        assert cli.main(argv) == ExitCode.DONE
        (issued,) = sim.notes()
    capsys.readouterr()
    options = ReceiptOptions(paper_mm=paper_mm)
    receipt = decode(render_danfe(xml=issued.xml, options=options), options)
    assert_well_formed(receipt, options)
    text = flat(receipt)
    # 10 % of the beer and its share of the sale's 2,00; the bread's share.
    assert "Desconto -4,63" in text
    assert "Desconto -0,36" in text
    assert has_row(receipt, "Valor total R$", "35,90")
    assert has_row(receipt, "Descontos R$", "-4,99")
    assert has_row(receipt, "Valor a Pagar R$", "30,91")
