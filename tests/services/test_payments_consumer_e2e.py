"""Issue 14 items 3, 4, 6 and 7 end to end: ``posapp nfce emit`` / ``cancel`` against the
Emites-Client simulator (a real TCP server), and the online providers' adapters against
theirs (real HTTP servers), with real journals: what each issuer receives, what a sale that
lacks what its state requires gets (exit 2, nothing sent), the DANFE printed to a file
printer and decoded, and the cancel window of an offline-contingency note."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from posapp import cli
from posapp.config import Config, ProviderConfig, StoreConfig
from posapp.domain.documents import parse_chave
from posapp.domain.issuance import IssueContext, Outcome
from posapp.domain.sale import Sale
from posapp.domain.verification import Expected, note_problems
from posapp.fiscal.focusnfe import FocusNfeBackend
from posapp.fiscal.integranotas import IntegraNotasBackend
from posapp.printing.escpos_decode import decode_escpos
from posapp.sim.emites import EmitesSimulator
from posapp.sim.focusnfe import FocusNfeSimulator
from posapp.sim.integranotas import IntegraNotasSimulator
from posapp.sim.nfce_xml import SANDBOX_EMITTER
from tests.conftest import sale_mapping
from tests.fiscal.provider_helpers import issue_once, run
from tests.support.emites_thread import EmitesInThread

TOKEN = "e2e-token-0123456789abcdef"
TOTAL = "35.90"
ADDRESS = {
    "street": "SQN 210 Bloco B",
    "number": "102",
    "district": "Asa Norte",
    "city_code": "5300108",
    "city": "Brasília",
    "uf": "DF",
    "cep": "70862020",
}
CUSTOMER = {"document": "12.ABC.345/01DE-35", "name": "Mercado Exemplo Ltda", "address": ADDRESS}


def cli_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any]]:
    code = cli.main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out.strip().splitlines()[-1])


def write(tmp_path: Path, name: str, data: dict[str, Any] | str) -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def emit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, sim: EmitesInThread, sale: dict[str, Any], *extra: str
) -> tuple[int, dict[str, Any]]:
    return cli_json(
        capsys,
        "nfce",
        "emit",
        str(write(tmp_path, "sale.json", sale)),
        "--data-dir",
        str(tmp_path / "data"),
        "--emites",
        f"127.0.0.1:{sim.port}",
        "--json",
        *extra,
    )


def creates(sim: EmitesInThread) -> list[dict[str, Any]]:
    return [json.loads(r.payload.decode("latin-1")) for r in sim.requests() if r.identifier == "CREATE_NFCE"]


def test_outros_with_its_description_and_an_addressed_consumer_through_emites(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread
) -> None:
    sale = sale_mapping(
        payments=[
            {"method": "outros", "amount": "20.00", "description": "Cashback do app"},
            {"method": "dinheiro", "amount": "20.00"},
        ],
        customer=CUSTOMER,
    )
    receipt = tmp_path / "receipt.bin"
    code, out = emit(capsys, tmp_path, emites, sale, "--printer", f"file:{receipt}")
    assert (code, out["status"]) == (0, "authorized"), out
    (request,) = creates(emites)
    assert request["forma_de_pagamento"][0]["descricao_do_pagamento"] == "Cashback do app"
    cliente = request["cliente"]
    assert (cliente["cpf_cnpj"], cliente["pessoa_fisica_juridica"]) == ("12ABC34501DE35", "company")
    assert cliente["endereco"]["codigo_municipal"] == 5300108
    printed = decode_escpos(receipt.read_bytes())
    text = " ".join(printed.text.split())
    assert "Cashback do app 20,00" in text and "Outros" not in text
    assert "CONSUMIDOR - CNPJ: 12.ABC.345/01DE-35" in text
    assert "SQN 210 Bloco B, 102, Asa Norte, Brasília - DF" in text


def test_outros_without_description_is_bad_input_and_nothing_is_sent(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread
) -> None:
    code, out = emit(capsys, tmp_path, emites, sale_mapping(payments=[{"method": "99", "amount": TOTAL}]))
    assert (code, out["status"]) == (2, "invalid")
    assert out["errors"][0].startswith("pagamentos[1].descricao: forma 'outros' (99) exige a descrição")
    assert creates(emites) == []


@pytest.fixture
def emites_rj() -> Iterator[EmitesInThread]:
    """An Emites-Client of a store in Rio de Janeiro: its simulator requires the card details too."""
    emitter = replace(SANDBOX_EMITTER, uf="RJ", city="Rio de Janeiro", codigo_municipio=3304557)
    with EmitesInThread(EmitesSimulator(emitter=emitter)) as sim:
        yield sim


def test_a_card_state_refuses_a_card_without_details_before_sending(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites_rj: EmitesInThread
) -> None:
    emites = emites_rj
    config = write(tmp_path, "posapp.toml", '[store]\nuf = "RJ"\n')
    bare = sale_mapping(payments=[{"method": "credito", "amount": TOTAL}])
    code, out = emit(capsys, tmp_path, emites, bare, "--config", str(config))
    assert (code, out["status"]) == (2, "invalid")
    assert "em RJ o cartão exige CNPJ da credenciadora" in out["errors"][0]
    assert creates(emites) == []
    card = {"acquirer_cnpj": "11.222.333/0001-81", "brand": "02", "authorization": "A1B2C3"}
    full = sale_mapping(payments=[{"method": "credito", "amount": TOTAL, "card": card}])
    code, out = emit(capsys, tmp_path, emites, full, "--config", str(config))
    assert (code, out["status"]) == (0, "authorized"), out
    (request,) = creates(emites)
    assert request["forma_de_pagamento"][0]["cartao"] == {
        "tipo_integracao": 2,
        "cnpj_credenciadora": "11222333000181",
        "bandeira_operadora": "02",
        "numero_autorizacao_operacao": "A1B2C3",
    }


def test_an_offline_notes_window_waits_for_its_authorization(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread
) -> None:
    emites.faults.contingency = True
    code, out = emit(capsys, tmp_path, emites, sale_mapping())
    assert (code, out["status"], out["contingency"]) == (0, "authorized", True)
    assert out["cancel_deadline"] is None  # not authorized yet: the window has not started
    # Emitted 40 minutes ago, still waiting for SEFAZ: the cancel is not refused locally;
    # the issuer answers (here: the note is not in SEFAZ's base yet).
    old = (datetime.now(UTC) - timedelta(minutes=40)).isoformat()
    db = sqlite3.connect(tmp_path / "data" / "journal.sqlite3")
    db.execute("UPDATE sales SET authorized_at = ?", (old,))
    db.commit()
    db.close()
    code, answer = cli_json(
        capsys,
        "nfce",
        "cancel",
        out["chave_acesso"],
        "--motivo",
        "Desistencia do comprador",
        "--data-dir",
        str(tmp_path / "data"),
        "--emites",
        f"127.0.0.1:{emites.port}",
        "--json",
    )
    assert answer["status"] != "window_closed" and code != 6
    assert [r.identifier for r in emites.requests()] == ["CREATE_NFCE", "CANCEL_NFCE"]


def test_an_online_note_past_thirty_minutes_is_refused_locally(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread
) -> None:
    code, out = emit(capsys, tmp_path, emites, sale_mapping())
    assert code == 0 and out["cancel_deadline"] is not None
    old = (datetime.now(UTC) - timedelta(minutes=31)).isoformat()
    db = sqlite3.connect(tmp_path / "data" / "journal.sqlite3")
    db.execute("UPDATE sales SET authorized_at = ?", (old,))
    db.commit()
    db.close()
    code, refused = cli_json(
        capsys,
        "nfce",
        "cancel",
        out["chave_acesso"],
        "--motivo",
        "Desistencia do comprador",
        "--data-dir",
        str(tmp_path / "data"),
        "--emites",
        f"127.0.0.1:{emites.port}",
        "--json",
    )
    assert (code, refused["status"]) == (6, "window_closed")


def described_sale() -> Sale:
    return Sale.from_mapping(
        sale_mapping(
            payments=[{"method": "outros", "amount": TOTAL, "description": "Vale da casa"}],
            customer={**CUSTOMER, "document": "529.982.247-25", "name": "Maria da Silva"},
            delivery=True,
        ),
        sale_id="e2e00001",
    )


def test_focus_receives_the_description_the_consumer_and_delivery() -> None:
    with FocusNfeSimulator(token=TOKEN, processing_queries=0) as sim:
        provider = ProviderConfig(name="focusnfe", base_url=sim.url.removesuffix("/v2"), timeout_s=3)
        backend = FocusNfeBackend(provider, Config(), token=TOKEN)
        context = IssueContext(sale=described_sale(), reference="e2e00001", emitted_at=datetime.now(UTC))
        result = run(issue_once(backend, context))
        (request,) = sim.requests_to("POST", "/v2/nfce")
    assert result.outcome is Outcome.AUTHORIZED, result
    body = json.loads(request.body)
    assert body["formas_pagamento"] == [
        {"forma_pagamento": "99", "valor_pagamento": "35.90", "descricao_pagamento": "Vale da casa"}
    ]
    assert body["presenca_comprador"] == "4"
    assert (body["cpf_destinatario"], body["nome_destinatario"]) == ("52998224725", "Maria da Silva")
    assert (body["logradouro_destinatario"], body["codigo_municipio_destinatario"]) == (
        "SQN 210 Bloco B",
        "5300108",
    )


def test_integra_receives_the_description_the_consumer_and_delivery() -> None:
    with IntegraNotasSimulator(token=TOKEN, processing_queries=0) as sim:
        provider = ProviderConfig(name="integranotas", base_url=sim.url, timeout_s=3)
        backend = IntegraNotasBackend(provider, Config(), token=TOKEN, enforce_min_timeout=False)
        context = IssueContext(
            sale=described_sale(), reference="e2e00001", serie=2, numero=7, emitted_at=datetime.now(UTC)
        )
        result = run(issue_once(backend, context))
        (request,) = [r for r in sim.requests if r.method == "POST" and r.path.endswith("/nfce")]
    assert result.outcome is Outcome.AUTHORIZED, result
    body = json.loads(request.body)
    assert body["pagamento"]["formas_pagamento"] == [
        {"meio_pagamento": "99", "valor": "35.90", "descricao": "Vale da casa"}
    ]
    assert body["presenca_comprador"] == "4"
    person = body["destinatario"]
    assert (person["cpf"], person["nome"], person["endereco"]["uf"]) == (
        "52998224725",
        "Maria da Silva",
        "DF",
    )


def test_a_focus_store_in_a_card_state_refuses_before_sending() -> None:
    config = Config(store=StoreConfig(uf="BA"))
    sale = Sale.from_mapping(
        sale_mapping(payments=[{"method": "debito", "amount": TOTAL}]), sale_id="e2e00002"
    )
    with FocusNfeSimulator(token=TOKEN, processing_queries=0) as sim:
        provider = ProviderConfig(name="focusnfe", base_url=sim.url.removesuffix("/v2"), timeout_s=3)
        backend = FocusNfeBackend(provider, config, token=TOKEN)
        with pytest.raises(Exception, match="lacks what BA requires"):
            backend.prepare_issue(IssueContext(sale=sale, reference="e2e00002", emitted_at=datetime.now(UTC)))
        assert sim.requests == []


def test_the_readme_example_is_issued_as_documented(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread
) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "sale_delivery_outros.json"
    receipt = tmp_path / "receipt.bin"
    code, out = emit(
        capsys,
        tmp_path,
        emites,
        json.loads(example.read_text(encoding="utf-8")),
        "--printer",
        f"file:{receipt}",
    )
    assert (code, out["status"]) == (0, "authorized"), out
    (request,) = creates(emites)
    assert request["indicador_presenca"] == 4
    assert [p["tipo_de_pagamento"] for p in request["forma_de_pagamento"]] == ["99", "03"]
    assert request["cliente"]["endereco"]["complemento"] == "loja 3"
    text = " ".join(decode_escpos(receipt.read_bytes()).text.split())
    assert "Cashback do app 10,00" in text and "Cartão de Crédito 45,80" in text
    # In homologação the consumer's name is SEFAZ's fixed text (cStat 373's rule); the address stays.
    assert "SEM VALOR FISCAL" in text and "SQN 210 Bloco B, 102, loja 3, Asa Norte, Brasília - DF" in text


def test_a_store_with_an_alphanumeric_cnpj_gets_a_verified_chave_from_integra() -> None:
    config = Config(store=StoreConfig(cnpj="12abc34501de35"))  # as typed: letters in either case
    sale = Sale.from_mapping(sale_mapping(), sale_id="e2e00003")
    with IntegraNotasSimulator(token=TOKEN, processing_queries=0, cnpj="12ABC34501DE35") as sim:
        provider = ProviderConfig(name="integranotas", base_url=sim.url, timeout_s=3)
        backend = IntegraNotasBackend(provider, config, token=TOKEN, enforce_min_timeout=False)
        context = IssueContext(
            sale=sale, reference="e2e00003", serie=2, numero=9, emitted_at=datetime.now(UTC)
        )
        result = run(issue_once(backend, context))
    assert result.outcome is Outcome.AUTHORIZED and result.note is not None, result
    chave = parse_chave(result.note.chave)
    assert chave.cnpj == "12ABC34501DE35" and chave.number == 9
    assert (
        note_problems(
            result.note, Expected(uf="DF", cnpj=config.store.cnpj, serie=2, numero=9, total=sale.total)
        )
        == ()
    )


def test_a_foreign_consumer_goes_to_emites_as_foreign_and_prints_its_id(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, emites: EmitesInThread
) -> None:
    sale = sale_mapping(customer={"foreign_id": "ab-123.456", "name": "John Smith"})
    receipt = tmp_path / "receipt.bin"
    code, out = emit(capsys, tmp_path, emites, sale, "--printer", f"file:{receipt}")
    assert (code, out["status"]) == (0, "authorized"), out
    (request,) = creates(emites)
    assert (request["cliente"]["cpf_cnpj"], request["cliente"]["pessoa_fisica_juridica"]) == (
        "AB123456",
        "foreign",
    )
    assert "CONSUMIDOR - Id. estrangeiro: AB123456" in " ".join(
        decode_escpos(receipt.read_bytes()).text.split()
    )
