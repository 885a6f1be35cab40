"""One damaged sale row (issue 12, item 9): it is listed as unreadable with its id and the reason,
the other sales still list, and nothing acts on it (``get_sale`` refuses it by name)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from posapp import cli
from posapp.domain.lifecycle import SaleState
from posapp.journal.errors import JournalUnavailable
from posapp.journal.store import Journal
from tests.support.sales import make_sale

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A journal with four queued sales; the second's JSON is cut, the third's state unknown."""
    data = tmp_path / "data"
    journal = Journal.in_dir(data)
    for index in range(4):
        journal.queue_new_sale(make_sale(index), T0 + timedelta(minutes=index), "offline")
    journal.close()
    raw = sqlite3.connect(data / "journal.sqlite3")
    ids = [r[0] for r in raw.execute("SELECT sale_id FROM sales ORDER BY created_at")]
    raw.execute("UPDATE sales SET sale_json = '{\"items\": [' WHERE sale_id = ?", (ids[1],))
    raw.execute("UPDATE sales SET state = 'LIMBO' WHERE sale_id = ?", (ids[2],))
    raw.commit()
    raw.close()
    yield data


def _ids(data: Path) -> list[str]:
    raw = sqlite3.connect(data / "journal.sqlite3")
    try:
        return [r[0] for r in raw.execute("SELECT sale_id FROM sales ORDER BY created_at")]
    finally:
        raw.close()


def test_list_sales_marks_the_damaged_rows_and_lists_the_others(data_dir: Path) -> None:
    ids = _ids(data_dir)
    journal = Journal.in_dir(data_dir)
    rows = {row.sale_id: row for row in journal.list_sales(oldest_first=True)}
    assert list(rows) == ids
    assert rows[ids[0]].unreadable is None and rows[ids[3]].unreadable is None
    assert rows[ids[0]].sale.items  # the good ones are whole

    cut, limbo = rows[ids[1]], rows[ids[2]]
    assert cut.unreadable is not None and "validação" in cut.unreadable
    assert cut.state is SaleState.QUEUED  # what can still be read is kept
    assert cut.created_at == T0 + timedelta(minutes=1)
    assert cut.sale.items == () and cut.last_error is not None and "ilegível" in cut.last_error
    assert limbo.unreadable is not None and "LIMBO" in limbo.unreadable
    assert limbo.state is SaleState.IN_DOUBT  # unknown state: a person must look at it

    # Filtering by state still works and still lists the damaged QUEUED row.
    queued = [row.sale_id for row in journal.list_sales(states=[SaleState.QUEUED], oldest_first=True)]
    assert queued == [ids[0], ids[1], ids[3]]
    journal.close()


def test_get_sale_refuses_a_damaged_row_by_name(data_dir: Path) -> None:
    ids = _ids(data_dir)
    journal = Journal.in_dir(data_dir)
    with pytest.raises(JournalUnavailable) as caught:
        journal.get_sale(ids[1])
    assert ids[1] in caught.value.user_message and "ilegível" in caught.value.user_message
    assert journal.get_sale(ids[0]).sale.items
    journal.close()


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "posapp.toml"
    path.write_text("[emites]\nconnect_timeout_s = 1\n", encoding="utf-8")
    return path


def test_nfce_list_prints_ilegivel_with_the_id(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _ids(data_dir)
    code = cli.main(["nfce", "list", "--config", str(_config(tmp_path)), "--data-dir", str(data_dir)])
    out, err = capsys.readouterr()
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 4
    by_id = {next(i for i in ids if i in line): line for line in lines}
    assert "ilegível" in by_id[ids[1]] and "ilegível" in by_id[ids[2]]
    assert "LIMBO" in by_id[ids[2]]
    assert "Na fila" in by_id[ids[0]] and "Na fila" in by_id[ids[3]]
    assert "2 venda(s) ilegível(is)" in err
    assert "Traceback" not in err


def test_nfce_list_json_says_unreadable(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _ids(data_dir)
    argv = ["nfce", "list", "--json", "--config", str(_config(tmp_path)), "--data-dir", str(data_dir)]
    assert cli.main(argv) == 0
    sales = {s["sale_id"]: s for s in json.loads(capsys.readouterr().out)["sales"]}
    assert set(sales) == set(ids)
    assert sales[ids[1]]["status"] == "unreadable" and sales[ids[2]]["status"] == "unreadable"
    assert sales[ids[1]]["errors"] and "ilegível" in sales[ids[1]]["errors"][0]
    assert sales[ids[0]]["status"] == "queued" and sales[ids[3]]["status"] == "queued"
