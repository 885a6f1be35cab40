"""Issue 15 item 3: the DANFE PDF is kept only where raster printing needs it, and a reprint
works either way (a native till prints from the XML, the legal document)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from posapp import cli
from posapp.journal.store import Journal
from posapp.printing.escpos_decode import DecodedReceipt, decode_escpos
from tests.conftest import sale_mapping
from tests.support.emites_thread import EmitesInThread


def emit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sim: EmitesInThread, mode: str
) -> tuple[Path, str]:
    data = tmp_path / mode
    config = tmp_path / f"{mode}.toml"
    config.write_text(f'[printer]\nuri = "none"\nmode = "{mode}"\n', encoding="utf-8")
    sale = tmp_path / "sale.json"
    sale.write_text(json.dumps(sale_mapping()), encoding="utf-8")
    argv = ["nfce", "emit", str(sale), "--data-dir", str(data), "--config", str(config)]
    code = cli.main([*argv, "--emites", f"127.0.0.1:{sim.port}", "--json"])
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0, out
    return data, str(out["chave_acesso"])


def reprint(
    capsys: pytest.CaptureFixture[str], data: Path, chave: str, mode: str, out: Path
) -> DecodedReceipt:
    argv = ["print", "danfe", "--chave", chave, "--printer", f"file:{out}", "--mode", mode]
    code = cli.main([*argv, "--data-dir", str(data)])
    capsys.readouterr()
    assert code == 0
    return decode_escpos(out.read_bytes())


def test_a_raster_till_keeps_the_pdf_and_a_native_till_does_not(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread
) -> None:
    raster, raster_chave = emit(capsys, tmp_path, emites, "raster")
    native, native_chave = emit(capsys, tmp_path, emites, "native")
    with_pdf = Journal.in_dir(raster)
    without = Journal.in_dir(native)
    try:
        kept = with_pdf.find_by_chave(raster_chave)
        assert (with_pdf.document(kept.sale_id, "danfe_pdf") or b"").startswith(b"%PDF")
        dropped = without.find_by_chave(native_chave)
        assert without.document(dropped.sale_id, "danfe_pdf") is None
        assert without.authorized_xml(dropped.sale_id) is not None
        # The answer as received, but for the DANFE's base64 (its hash and size are kept).
        answer = json.loads(without.attempts(dropped.sale_id)[0].response or "{}")
        assert answer["danfe"] == "" and answer["xml"]
    finally:
        with_pdf.close()
        without.close()

    # Reprint works on both; asked for raster, the native till falls back to the XML.
    fallback = reprint(capsys, native, native_chave, "raster", tmp_path / "a.bin")
    assert "DANFE" in fallback.text and not fallback.images
    assert reprint(capsys, raster, raster_chave, "raster", tmp_path / "b.bin").images  # the issuer's PDF
