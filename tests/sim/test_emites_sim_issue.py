"""CREATE_NFCE against the Emites simulator over loopback: authorizations and rejections."""

from __future__ import annotations

import base64
import copy
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pypdfium2 as pdfium
import pytest
import zxingcpp

from posapp.domain.documents import parse_chave
from posapp.sim.emites import EmitesSimulator
from tests.sim.emites_wire import (
    EXAMPLES,
    HAS_REPORTLAB,
    NFE,
    Wire,
    ask,
    example,
    example_text,
    latin1,
    with_sim,
)

DF_QR = "http://dec.fazenda.df.gov.br/ConsultarNFCe.aspx?p="
UTC_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def xml_of(answer: dict[str, Any]) -> ET.Element:
    return ET.fromstring(base64.b64decode(answer["xml"], validate=True))


def find(root: ET.Element, path: str) -> str:
    value = root.findtext("/".join(NFE + p for p in path.split("/")))
    assert value is not None, path
    return value


def test_the_vendor_examples_are_authorized_with_increasing_numbers() -> None:
    answers: list[tuple[str, dict[str, Any]]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        async with await Wire.open(sim.port) as wire:  # one connection, one request at a time
            for name in EXAMPLES:
                frame, answer = await wire.request("CREATE_NFCE", example_text(name).encode("iso-8859-1"))
                assert frame.identifier == "CREATE_NFCE"
                answers.append((name, answer))
        assert [r.identifier for r in sim.requests] == ["CREATE_NFCE"] * 4
        assert [r.payload for r in sim.requests] == [example_text(n).encode("iso-8859-1") for n in EXAMPLES]
        assert sim.pipelined == 0

    with_sim(scenario)
    protocols = set()
    for number, (name, answer) in enumerate(answers, start=1):
        request = example(name)
        assert answer["status"] == "sucesso", answer.get("erros")
        assert answer["nfe_numero"] == number and answer["serie"] == 1 and answer["id"] == number
        receipt = answer["resposta_emissao"]
        key = parse_chave(receipt["chave_acesso"])
        assert (key.uf, key.cnpj, key.model, key.series, key.number, key.emission_type) == (
            "DF", "22769530000131", "65", 1, number, 1,
        )  # fmt: skip
        assert UTC_Z.fullmatch(receipt["data_emissao"])
        assert re.fullmatch(r"\d{15}", receipt["numero_protocolo"])
        protocols.add(receipt["numero_protocolo"])
        assert re.fullmatch(r"[A-Za-z0-9+/]{27}=", receipt["codigo_verificacao"])
        assert answer["danfe_url"].startswith("http") and answer["xml_url"].startswith("http")
        # the request comes back, with the response example's spelling of the payments key
        assert answer["forma_pagamento"] == request["forma_de_pagamento"]
        assert "forma_de_pagamento" not in answer
        assert answer["natureza_operacao"] == request["natureza_operacao"]
        assert answer.get("cliente") == request.get("cliente")
        for echoed, sent in zip(answer["produtos"], request["produtos"], strict=True):
            assert {k: v for k, v in echoed.items() if k != "tributacao"} == sent
            assert echoed["tributacao"]["valor_aproximado_total"] > 0
        root = xml_of(answer)
        assert root.tag == f"{NFE}nfeProc"
        assert find(root, "protNFe/infProt/chNFe") == key.digits
        assert find(root, "protNFe/infProt/nProt") == receipt["numero_protocolo"]
        assert find(root, "protNFe/infProt/digVal") == receipt["codigo_verificacao"]
        received = datetime.fromisoformat(find(root, "protNFe/infProt/dhRecbto")).astimezone(UTC)
        assert received.strftime("%Y-%m-%dT%H:%M:%SZ") == receipt["data_emissao"]
        assert find(root, "NFe/infNFe/ide/nNF") == str(number)
        assert find(root, "NFe/infNFe/det/prod/xProd") == request["produtos"][0]["descricao"]
        assert find(root, "NFe/infNFe/total/ICMSTot/vNF") == "200.00"
        qr = find(root, "NFe/infNFeSupl/qrCode")
        assert qr.startswith(DF_QR + key.digits + "|2|2|")
        if HAS_REPORTLAB:
            assert base64.b64decode(answer["danfe"]).startswith(b"%PDF-")
        else:
            assert "danfe" not in answer
    assert len(protocols) == 4


def test_the_xml_and_danfe_carry_the_sale() -> None:
    request = example()
    request["produtos"] = [
        {**request["produtos"][0], "codigo_produto": "200", "descricao": "Pão de Açúcar francês",
         "ncm": "19059090", "codigo_ean": "SEM GTIN", "unidade_comercial": "KG", "unidade_tributavel": "KG",
         "quantidade_comercial": Decimal("0.375"), "quantidade_tributavel": Decimal("0.375"),
         "valor_unitario_comercial": Decimal("15.90"), "valor_unitario_tributario": Decimal("15.90"),
         "valor_total_produto": Decimal("5.96")},
        {**request["produtos"][0], "codigo_produto": "14600", "descricao": "Cerveja Pilsen 350ml",
         "ncm": "22030000", "quantidade_comercial": 6, "quantidade_tributavel": 6,
         "valor_unitario_comercial": Decimal("4.99"), "valor_unitario_tributario": Decimal("4.99"),
         "valor_total_produto": Decimal("29.94"), "valor_desconto": Decimal("0.94")},
    ]  # fmt: skip
    request["forma_de_pagamento"] = [{"tipo_de_pagamento": "01", "valor_do_pagamento": Decimal("50.00")}]
    request["cliente"] = {
        "cpf_cnpj": "52998224725",
        "nome": "Maria da Conceição",
        "pessoa_fisica_juridica": "person",
    }
    answers: list[dict[str, Any]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        answers.append(await ask(sim.port, "CREATE_NFCE", latin1(request)))

    with_sim(scenario)
    (answer,) = answers
    assert answer["status"] == "sucesso", answer.get("erros")
    root = xml_of(answer)
    prods = root.findall(f"{NFE}NFe/{NFE}infNFe/{NFE}det/{NFE}prod")
    assert [p.findtext(f"{NFE}xProd") for p in prods] == ["Pão de Açúcar francês", "Cerveja Pilsen 350ml"]
    assert [p.findtext(f"{NFE}cEAN") for p in prods] == ["SEM GTIN", "7891000315507"]
    assert [p.findtext(f"{NFE}qCom") for p in prods] == ["0.3750", "6.0000"]
    assert find(root, "NFe/infNFe/total/ICMSTot/vProd") == "35.90"
    assert find(root, "NFe/infNFe/total/ICMSTot/vDesc") == "0.94"
    assert find(root, "NFe/infNFe/total/ICMSTot/vNF") == "34.96"
    assert find(root, "NFe/infNFe/pag/detPag/vPag") == "50.00"
    assert find(root, "NFe/infNFe/pag/vTroco") == "15.04"
    assert find(root, "NFe/infNFe/dest/CPF") == "52998224725"
    assert find(root, "NFe/infNFe/dest/xNome") == "Maria da Conceição"
    assert Decimal(find(root, "NFe/infNFe/total/ICMSTot/vTotTrib")) > 0
    if not HAS_REPORTLAB:  # the rest reads the DANFE PDF
        return

    doc = pdfium.PdfDocument(base64.b64decode(answer["danfe"]))
    try:
        page = doc[0]
        text = " ".join(page.get_textpage().get_text_range().split())
        image = page.render(scale=203 / 72).to_pil()
        page.close()
    finally:
        doc.close()
    assert "Pão de Açúcar francês" in text and "Troco R$ 15,04" in text
    assert "CONSUMIDOR - CPF: 529.982.247-25" in text
    assert parse_chave(answer["resposta_emissao"]["chave_acesso"]).grouped() in text
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [find(root, "NFe/infNFeSupl/qrCode")]


def _drop(path: str) -> Any:
    def change(request: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = request
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        del target[last]

    return change


def _set(path: str, value: Any) -> Any:
    def change(request: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = request
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value

    return change


REJECTION_629 = (
    "629 - Rejeição: Valor do Produto difere do produto Valor Unitário de "
    "Comercialização e Quantidade Comercial"
)
REJECTION_237 = "237 - Rejeição: CPF do destinatário inválido"
REJECTION_208 = "208 - Rejeição: CNPJ do destinatário inválido"
CUSTOMER = {"cpf_cnpj": "52998224725", "nome": "CONSUMIDOR", "pessoa_fisica_juridica": "person"}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (_drop("produtos.0.ncm"), "produtos.0.ncm", "não pode ficar em branco"),
        (_set("produtos.0.ncm", "2208600"), "produtos.0.ncm", "não é válido"),
        (_set("produtos.0.cfop", "51A2"), "produtos.0.cfop", "não é válido"),
        (_set("produtos.0.cest", "123"), "produtos.0.cest", "não é válido"),
        (_set("produtos.0.cest", ""), "produtos.0.cest", "não é válido"),  # "" is not "absent"
        (_set("produtos.0.codigo_ean", "123"), "produtos.0.codigo_ean", "não é válido"),
        (_set("produtos.0.descricao", "x" * 121), "produtos.0.descricao",
         "é muito longo (máximo: 120 caracteres)"),
        (_set("produtos.0.quantidade_comercial", "2.00"), "produtos.0.quantidade_comercial",
         "não é um número"),
        (_set("produtos", []), "produtos", "tamanho deve estar entre 1 e 990"),
        (_set("cliente", {**CUSTOMER, "cpf_cnpj": "12.345"}), "cliente.cpf_cnpj", "não é válido"),
        (_set("cliente", {**CUSTOMER, "email": "nobody"}), "cliente.email",
         "não é um endereço de e-mail válido"),
        (_set("cliente", {**CUSTOMER, "nome": None}), "cliente.nome", "não pode ficar em branco"),
        (_set("forma_de_pagamento", []), "forma_de_pagamento", "tamanho deve estar entre 1 e 100"),
        (_set("forma_de_pagamento.0.valor_do_pagamento", Decimal("199.99")), "forma_de_pagamento",
         "soma dos pagamentos (R$ 199.99) menor que o total da nota (R$ 200.00)"),
        (_drop("forma_de_pagamento.0.cartao"), "forma_de_pagamento.0.cartao", "não pode ficar em branco"),
        (_set("forma_de_pagamento.0.tipo_de_pagamento", "07"), "forma_de_pagamento.0.tipo_de_pagamento",
         "não está incluído na lista"),
        (_drop("transporte"), "transporte", "não pode ficar em branco"),
        (_set("destino_operacao", 7), "destino_operacao", "não está incluído na lista"),
    ],
)  # fmt: skip
def test_validation_errors_are_answered_as_field_lists(change: Any, field: str, message: str) -> None:
    request = example()
    change(request)
    answers: list[dict[str, Any]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        answers.append(await ask(sim.port, "CREATE_NFCE", latin1(request)))
        answers.append(await ask(sim.port, "CREATE_NFCE", example_text().encode("iso-8859-1")))
        assert len(sim.notes) == 1

    with_sim(scenario)
    rejected, fine = answers
    assert rejected["status"] == "rejeitada"
    assert isinstance(rejected["erros"], dict)
    assert message in rejected["erros"][field], rejected["erros"]
    assert rejected["produtos"] == request["produtos"]  # the request is echoed
    assert "nfe_numero" not in rejected and "xml" not in rejected
    assert fine["status"] == "sucesso" and fine["nfe_numero"] == 1  # no number was burned


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_set("produtos.0.ncm", "00"), "471 - Rejeição: Informado NCM=00 indevidamente"),
        (_set("produtos.0.codigo_ean", "7891000315508"), "611 - Rejeição: cEAN inválido"),
        (_set("produtos.0.valor_total_produto", Decimal("199.98")), REJECTION_629),
        (_set("cliente", {**CUSTOMER, "cpf_cnpj": "52998224700"}), REJECTION_237),
        (_set("cliente", {**CUSTOMER, "cpf_cnpj": "22769530000100"}), REJECTION_208),
    ],
)  # fmt: skip
def test_sefaz_rejections_come_under_rejeicao(change: Any, reason: str) -> None:
    request = example()
    change(request)
    answers: list[dict[str, Any]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        answers.append(await ask(sim.port, "CREATE_NFCE", latin1(request)))
        assert sim.notes == {}

    with_sim(scenario)
    assert answers[0]["status"] == "rejeitada"
    assert answers[0]["erros"] == {"rejeicao": [reason]}


def test_a_cent_of_rounding_is_tolerated_like_rule_629() -> None:
    request = example()
    request["produtos"][0].update(
        quantidade_comercial=Decimal("739"),
        quantidade_tributavel=Decimal("739"),
        valor_unitario_comercial=Decimal("0.4086"),
        valor_unitario_tributario=Decimal("0.4086"),
        valor_total_produto=Decimal("301.95"),  # 301.9554 truncated, as the sandbox did
    )
    request["forma_de_pagamento"][0]["valor_do_pagamento"] = Decimal("301.95")
    answers: list[dict[str, Any]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        answers.append(await ask(sim.port, "CREATE_NFCE", latin1(request)))

    with_sim(scenario)
    assert answers[0]["status"] == "sucesso"
    assert find(xml_of(answers[0]), "NFe/infNFe/det/prod/vProd") == "301.95"


def test_strict_schema_requires_what_the_vendor_examples_omit() -> None:
    answers: list[dict[str, Any]] = []
    complete = example()
    complete["codigo_natureza_operacao"] = "001"
    complete["produtos"][0].update(aplicacao="C", fabricacao=1)
    pix = copy.deepcopy(complete)
    pix["forma_de_pagamento"] = [{"tipo_de_pagamento": "17", "valor_do_pagamento": Decimal("200.00")}]

    async def scenario(sim: EmitesSimulator) -> None:
        answers.append(await ask(sim.port, "CREATE_NFCE", example_text().encode("iso-8859-1")))
        answers.append(await ask(sim.port, "CREATE_NFCE", latin1(complete)))
        answers.append(await ask(sim.port, "CREATE_NFCE", latin1(pix)))
        sim.engine.strict_schema = False
        answers.append(await ask(sim.port, "CREATE_NFCE", latin1(pix)))

    with_sim(scenario, strict_schema=True)
    minimal, full, pix_strict, pix_lenient = answers
    assert minimal["status"] == "rejeitada"
    assert minimal["erros"] == {
        "codigo_natureza_operacao": ["não pode ficar em branco"],
        "produtos.0.aplicacao": ["não pode ficar em branco"],
        "produtos.0.fabricacao": ["não pode ficar em branco"],
    }
    assert full["status"] == "sucesso"
    assert pix_strict["erros"] == {"forma_de_pagamento.0.tipo_de_pagamento": ["não está incluído na lista"]}
    assert pix_lenient["status"] == "sucesso"


def test_reject_next_rejects_once_without_burning_a_number() -> None:
    reason = "778 - Rejeição: Informado NCM inexistente"
    answers: list[dict[str, Any]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        sim.faults.reject_next = reason
        answers.append(await ask(sim.port, "CREATE_NFCE", example_text().encode("iso-8859-1")))
        answers.append(await ask(sim.port, "CREATE_NFCE", example_text().encode("iso-8859-1")))
        assert sim.faults.reject_next is None

    with_sim(scenario)
    assert answers[0]["status"] == "rejeitada" and answers[0]["erros"] == {"rejeicao": [reason]}
    assert answers[1]["status"] == "sucesso" and answers[1]["nfe_numero"] == 1


@pytest.mark.parametrize("status", ["processando", "erro"])
def test_status_override_issues_nothing(status: str) -> None:
    answers: list[dict[str, Any]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        sim.faults.status_override = status
        answers.append(await ask(sim.port, "CREATE_NFCE", example_text().encode("iso-8859-1")))
        assert sim.notes == {}

    with_sim(scenario)
    (answer,) = answers
    assert answer["status"] == status
    assert "resposta_emissao" not in answer and "xml" not in answer
    assert ("erros" in answer) is (status == "erro")


def test_contingency_issues_offline_and_still_answers_sucesso() -> None:
    answers: list[dict[str, Any]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        sim.faults.contingency = True
        answers.append(await ask(sim.port, "CREATE_NFCE", example_text().encode("iso-8859-1")))
        chave = answers[0]["resposta_emissao"]["chave_acesso"]
        answers.append(
            await ask(
                sim.port, "CANCEL_NFCE", latin1({"chave_acesso": chave, "motivo": "Venda digitada errada"})
            )
        )

    with_sim(scenario)
    issued, cancel = answers
    assert issued["status"] == "sucesso"
    key = parse_chave(issued["resposta_emissao"]["chave_acesso"])
    assert key.emission_type == 9
    assert "numero_protocolo" not in issued["resposta_emissao"]
    root = xml_of(issued)
    assert root.tag == f"{NFE}NFe"  # not transmitted yet: no protNFe
    assert find(root, "infNFe/ide/tpEmis") == "9"
    assert find(root, "infNFe/ide/dhCont")
    assert find(root, "infNFeSupl/qrCode").count("|") == 7
    if not HAS_REPORTLAB:  # the rest reads the DANFE PDF
        return
    doc = pdfium.PdfDocument(base64.b64decode(issued["danfe"]))
    try:
        page = doc[0]
        assert "EMITIDA EM CONTINGÊNCIA" in page.get_textpage().get_text_range()
        page.close()
    finally:
        doc.close()
    # SEFAZ has never seen it, so it cannot be cancelled yet
    assert cancel["status"] == "cancelamento_rejeitado"
    assert cancel["erros"] == {"rejeicao": ["217 - Rejeição: NF-e não consta na base de dados da SEFAZ"]}


def test_response_style_and_error_shape_variants() -> None:
    answers: list[dict[str, Any]] = []
    bad = example()
    bad["produtos"][0]["ncm"] = "1"

    async def scenario(sim: EmitesSimulator) -> None:
        sim.faults.response_style = "schema"
        sim.faults.errors_as_list = True
        answers.append(
            await ask(sim.port, "CREATE_NFCE", example_text("nfce_request.json").encode("iso-8859-1"))
        )
        answers.append(await ask(sim.port, "CREATE_NFCE", latin1(bad)))

    with_sim(scenario)
    good, rejected = answers
    assert good["nfce_number"] == 1 and "nfe_numero" not in good
    assert "forma_de_pagamento" in good and "forma_pagamento" not in good
    assert "client" in good and "cliente" not in good
    assert rejected["erros"] == ["produtos.0.ncm não é válido"]


def test_numbers_restart_per_series_and_the_clock_dates_the_note() -> None:
    fixed = datetime(2024, 2, 29, 15, 4, 5, tzinfo=UTC)
    answers: list[dict[str, Any]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        for serie in (1, 1, 7, 1, 7):
            sim.serie = serie
            answers.append(await ask(sim.port, "CREATE_NFCE", example_text().encode("iso-8859-1")))

    with_sim(scenario, clock=lambda: fixed)
    assert [(a["serie"], a["nfe_numero"]) for a in answers] == [(1, 1), (1, 2), (7, 1), (1, 3), (7, 2)]
    for answer in answers:
        key = parse_chave(answer["resposta_emissao"]["chave_acesso"])
        assert (key.series, key.number, key.year_month) == (answer["serie"], answer["nfe_numero"], "2402")
        assert answer["resposta_emissao"]["data_emissao"] == "2024-02-29T15:04:05Z"
        assert find(xml_of(answer), "NFe/infNFe/ide/dhEmi") == "2024-02-29T12:04:05-03:00"


def test_answer_json_keeps_decimals_exact() -> None:
    frames: list[bytes] = []

    async def scenario(sim: EmitesSimulator) -> None:
        async with await Wire.open(sim.port) as wire:
            frame, _ = await wire.request("CREATE_NFCE", example_text().encode("iso-8859-1"))
            frames.append(frame.payload)

    with_sim(scenario)
    text = frames[0].decode("iso-8859-1")
    assert '"valor_do_pagamento": 200.00' in text
    assert '"quantidade_comercial": 2.00' in text
