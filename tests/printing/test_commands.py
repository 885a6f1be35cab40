"""``posapp print danfe``: exit codes 0 / 2 / 7 and what lands on the printer."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from posapp.domain.errors import InvalidDocument
from posapp.printing import ReceiptOptions, decode_escpos
from posapp.printing.commands import DocumentLoader, print_danfe_command
from posapp.printing.options import PaperWidth
from tests.printing import notes
from tests.printing.fake_printer import FakeTcpPrinter, refused_uri

CHAVE = "53181022769530000131651110000002761101117841"


def _args(**values: object) -> argparse.Namespace:
    base: dict[str, object] = {
        "pdf": None,
        "xml": None,
        "chave": None,
        "printer": "none",
        "paper": 80,
        "mode": None,
    }
    base.update(values)
    return argparse.Namespace(**base)


def _run(args: argparse.Namespace, loader: DocumentLoader | None = None) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = print_danfe_command(args, loader, out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def xml_file(tmp_path: Path) -> Path:
    path = tmp_path / "nota.xml"
    path.write_bytes(notes.authorized_xml())
    return path


@pytest.mark.parametrize("paper", [58, 80])
def test_xml_to_a_file_printer(tmp_path: Path, xml_file: Path, paper: PaperWidth) -> None:
    target = tmp_path / "lp0"
    code, out, err = _run(_args(xml=xml_file, printer=f"file:{target}", paper=paper))
    assert (code, err) == (0, "")
    assert "modo native" in out
    options = ReceiptOptions(paper_mm=paper)
    receipt = decode_escpos(target.read_bytes(), tables=options.table_map(), columns=options.columns)
    assert receipt.qr_codes[0].text.startswith("http://dec.fazenda.df.gov.br/ConsultarNFCe.aspx?p=" + CHAVE)
    assert receipt.drawer_pulses == []  # a command-line reprint never opens the till


def test_pdf_to_a_tcp_printer() -> None:
    fake = FakeTcpPrinter()
    try:
        pdf = Path(notes.FIXTURES / "danfe_nfce_df_homologacao.pdf")
        code, out, _ = _run(_args(pdf=pdf, printer=fake.uri, paper=58))
    finally:
        fake.close()
    assert code == 0 and "modo raster" in out
    (job,) = fake.jobs()
    assert decode_escpos(job, width_dots=384).images[0].width == 384


def test_chave_from_the_journal_to_preview() -> None:
    seen: list[str] = []

    def loader(chave: str) -> tuple[bytes | None, bytes | None]:
        seen.append(chave)
        return notes.authorized_xml(), notes.danfe_pdf()

    code, out, _ = _run(_args(chave=CHAVE, printer="preview"), loader)
    assert code == 0 and seen == [CHAVE]
    assert "5318 1022 7695 3000 0131 6511" in out
    assert "[QR 30.6 mm] http://dec.fazenda.df.gov.br/ConsultarNFCe.aspx" in out


def test_bad_input_exits_2(tmp_path: Path, xml_file: Path) -> None:
    code, _, err = _run(_args(xml=tmp_path / "missing.xml"))
    assert code == 2 and "Não foi possível ler o XML" in err
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<nfeProc>")
    code, _, err = _run(_args(xml=bad))
    assert code == 2 and "XML da NFC-e inválido" in err
    code, _, err = _run(_args(chave=CHAVE))
    assert code == 2 and "diário" in err

    def unknown(chave: str) -> tuple[bytes | None, bytes | None]:
        raise InvalidDocument("bad", user_message="Chave de acesso inválida: dígito verificador não confere.")

    code, _, err = _run(_args(chave="123"), unknown)
    assert code == 2 and "dígito verificador" in err
    code, _, err = _run(_args(chave=CHAVE), lambda chave: (None, None))
    assert code == 2 and "Nenhum XML ou PDF" in err
    code, _, err = _run(_args(xml=xml_file, printer="tcp:"))
    assert code == 7 and "Endereço de impressora inválido" in err  # issue 12: README's 7
    code, _, err = _run(_args(xml=xml_file, pdf=xml_file))
    assert code == 2


def test_printer_failure_exits_7(tmp_path: Path, xml_file: Path) -> None:
    code, _, err = _run(_args(xml=xml_file, printer=refused_uri()))
    assert code == 7 and "recusou a conexão" in err
    code, _, err = _run(_args(xml=xml_file, printer=f"file:{tmp_path / 'no' / 'lp0'}"))
    assert code == 7 and "Impressora não encontrada" in err
