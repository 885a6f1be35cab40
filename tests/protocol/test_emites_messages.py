"""CREATE_NFCE / CANCEL_NFCE requests built from sales, their wire bytes, and every answer variant."""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from posapp.domain.errors import CancelRefused, InvalidDocument, InvalidSale
from posapp.protocol.errors import LocalProtocolError, RemoteProtocolError
from posapp.protocol.framing import Frame, FrameDecoder
from posapp.protocol.messages import (
    CANCEL_NFCE,
    CREATE_CFE,
    CREATE_NFCE,
    HOMOLOGACAO_CUSTOMER_NAME,
    HOMOLOGACAO_ITEM_DESCRIPTION,
    UNNAMED_CUSTOMER,
    ResponseStatus,
    build_cancel,
    build_create_nfce,
    dumps_json,
    encode_request,
    encode_response,
    extract_reference,
    flatten_errors,
    parse_request,
    parse_response,
    parse_xml_facts,
)
from tests.protocol.emites_samples import (
    ANSWER_CHAVE,
    PUBLISHED_CANCELADA,
    PUBLISHED_SUCESSO,
    REPAIRED_SUCESSO,
    XML_CHAVE,
    authorized_xml,
    context,
    danfe_pdf,
    frame_of,
    offline_xml,
    profile,
    sucesso_answer,
)


def walk(value: Any) -> Iterator[Any]:
    """Every leaf of a payload."""
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)
    else:
        yield value


def decode_request(data: bytes) -> tuple[str, dict[str, Any]]:
    decoder = FrameDecoder()
    decoder.feed(data)
    frame = decoder.next_frame()
    assert frame is not None and decoder.buffered == 0
    return frame.identifier, json.loads(frame.payload.decode("iso-8859-1"), parse_float=Decimal)


# --------------------------------------------------------------------------- requests


def test_request_from_the_sample_sale_in_homologacao() -> None:
    payload = build_create_nfce(context(), profile())
    assert payload["destino_operacao"] == 1
    assert payload["finalidade_nfe"] == 1
    assert payload["indicador_consumidor_final"] == 1
    assert payload["indicador_presenca"] == 1
    assert payload["engine_de_calculo"] == "taxweb"
    assert payload["natureza_operacao"] == "venda"
    assert payload["codigo_natureza_operacao"] == "001"
    assert payload["transporte"] == {"codigo_modalidade": 9}
    first, second = payload["produtos"]
    assert first["descricao"] == HOMOLOGACAO_ITEM_DESCRIPTION  # SEFAZ cStat 373 in homologação
    assert second["descricao"] == "Pão de Açúcar francês (kg)"
    assert first["codigo_ean"] == first["ean_unidade_trib"] == "7891000315507"
    assert second["codigo_ean"] == "SEM GTIN"
    assert first["quantidade_comercial"] == first["quantidade_tributavel"] == Decimal("6")
    assert first["valor_unitario_comercial"] == Decimal("4.99")
    assert first["valor_total_produto"] == Decimal("29.94")
    assert second["quantidade_comercial"] == Decimal("0.375")
    assert second["valor_total_produto"] == Decimal("5.96")
    assert "cest" not in first and "valor_desconto" not in first
    assert payload["forma_de_pagamento"] == [
        {"tipo_de_pagamento": "01", "valor_do_pagamento": Decimal("50.00"), "modalidade": 0}
    ]  # the amount tendered; the change (14.10) is the excess over vNF
    assert payload["cliente"] == {
        "cpf_cnpj": "52998224725",
        "pessoa_fisica_juridica": "person",
        "nome": HOMOLOGACAO_CUSTOMER_NAME,
    }
    assert extract_reference(payload["informacoes_adicionais"]["informacoes_contribuinte"]) == "sale0001"
    leaves = list(walk(payload))
    assert "" not in leaves and None not in leaves
    assert not any(isinstance(leaf, float) for leaf in leaves)


def test_request_in_producao_keeps_descriptions_and_names() -> None:
    named = build_create_nfce(
        context(customer={"document": "11.222.333/0001-81", "name": "Mercadinho “Bom Preço” Ltda"}),
        profile(environment="producao"),
    )
    assert named["produtos"][0]["descricao"] == "Cerveja Pilsen 350ml"
    assert named["cliente"]["pessoa_fisica_juridica"] == "company"
    assert named["cliente"]["nome"] == 'Mercadinho "Bom Preço" Ltda'
    unnamed = build_create_nfce(context(), profile(environment="producao"))
    assert unnamed["cliente"]["nome"] == UNNAMED_CUSTOMER  # the schema requires one
    anonymous = build_create_nfce(context(customer=None), profile(environment="producao"))
    assert "cliente" not in anonymous


def test_cards_pix_discount_and_cest() -> None:
    payments = [
        {"method": "credito", "amount": "10.00"},
        {
            "method": "debito",
            "amount": "10.00",
            "card": {
                "integration": 1,
                "acquirer_cnpj": "11375787000192",
                "brand": "01",
                "authorization": "AB12",
            },
        },
        {"method": "pix", "amount": "5.00"},
        {"method": "20", "amount": "5.00"},
        {"method": "dinheiro", "amount": "10.00"},
    ]
    items = context().sale.model_dump()["items"]
    items[0].update(discount=Decimal("1.50"), cest="0300700")
    ctx = context(payments=payments, items=items)
    payload = build_create_nfce(ctx, profile())
    credito, debito, pix, pix_estatico, dinheiro = payload["forma_de_pagamento"]
    assert credito["cartao"] == {"tipo_integracao": 2}  # a POS machine apart from the PDV
    assert debito["cartao"] == {
        "tipo_integracao": 1,
        "cnpj_credenciadora": "11375787000192",
        "bandeira_operadora": "01",
        "numero_autorizacao_operacao": "AB12",
    }
    assert pix["tipo_de_pagamento"] == "17" and "cartao" not in pix  # sent though not in the old enum
    assert pix_estatico["tipo_de_pagamento"] == "20"
    assert "cartao" not in dinheiro
    product = payload["produtos"][0]
    assert product["valor_desconto"] == Decimal("1.50")
    assert product["cest"] == "0300700"


def test_description_with_nothing_sendable_is_refused_in_portuguese() -> None:
    items = context().sale.model_dump()["items"]
    items[1]["description"] = "😀😀"
    with pytest.raises(InvalidSale) as info:
        build_create_nfce(context(items=items), profile())
    assert "Item 2" in info.value.user_message


def test_reference_must_be_taggable() -> None:
    ctx = context()
    for reference in ("has space", "trailing-newline\n", "", "x" * 65):
        with pytest.raises(LocalProtocolError):
            build_create_nfce(type(ctx)(sale=ctx.sale, reference=reference), profile())


def test_cleaning_lengthens_then_truncates_to_the_schema_limit() -> None:
    items = context().sale.model_dump()["items"]
    items[1]["description"] = "…" * 60  # 60 characters, 180 once cleaned
    payload = build_create_nfce(context(items=items), profile())
    assert payload["produtos"][1]["descricao"] == "." * 120


# --------------------------------------------------------------------------- wire bytes


def test_wire_bytes_are_latin1_with_an_exact_size() -> None:
    data = encode_request(CREATE_NFCE, build_create_nfce(context(), profile()), "latin1")
    size, _, rest = data.partition(b":")
    assert int(size) == len(rest) + 1
    assert b"P\xe3o de A\xe7\xfacar" in data  # "ã" is the single byte 0xE3
    assert "ã".encode() not in data  # never UTF-8
    identifier, payload = decode_request(data)
    assert identifier == CREATE_NFCE
    assert payload["produtos"][1]["descricao"] == "Pão de Açúcar francês (kg)"


def test_numbers_go_out_as_exact_json_numbers() -> None:
    items = context().sale.model_dump()["items"]
    items[0].update(quantity=Decimal("1.5"), unit_price=Decimal("0.12345678905"))
    data = encode_request(CREATE_NFCE, build_create_nfce(context(items=items), profile()))
    text = data.decode("iso-8859-1")
    assert '"quantidade_comercial":1.5,' in text
    assert '"valor_unitario_comercial":0.1234567891,' in text  # 10 places, half up
    assert '"valor_total_produto":0.19}' in text
    assert '"quantidade_comercial":0.375,' in text
    assert '"valor_unitario_comercial":15.90,' in text
    assert '"valor_do_pagamento":50.00,' in text
    numbers = re.findall(r'":(-?[0-9][^,}\]"]*)', text)
    assert numbers and all(re.fullmatch(r"-?[0-9]+(\.[0-9]+)?", n) for n in numbers)  # no exponents


def test_ascii_policy_folds_accents_on_the_wire() -> None:
    data = encode_request(CREATE_NFCE, build_create_nfce(context(), profile(text_policy="ascii")), "ascii")
    assert data.isascii()
    assert b"Pao de Acucar frances (kg)" in data


def test_every_string_is_cleaned_even_if_built_elsewhere() -> None:
    data = encode_request(CANCEL_NFCE, {"motivo": "linha 1\nlinha\t2 “ok”", "x": None, "n": [1, True]})
    assert decode_request(data) == (CANCEL_NFCE, {"motivo": 'linha 1 linha 2 "ok"', "n": [1, True]})


@pytest.mark.parametrize(
    "payload",
    [{"valor": 1.5}, {"valor": Decimal("NaN")}, {"descricao": "😀"}, {"x": object()}, {1: "a"}, {"ç": "a"}],
)
def test_unsendable_payloads_are_local_errors(payload: dict[Any, Any]) -> None:
    with pytest.raises(LocalProtocolError):
        encode_request(CREATE_NFCE, payload)


def test_dumps_json_matches_json_for_plain_values() -> None:
    value = {"a": [1, 'ç"\\', None, False], "b": {"c": Decimal("-0.10")}}
    assert json.loads(dumps_json(value), parse_float=Decimal) == value


# --------------------------------------------------------------------------- cancel


def test_build_cancel() -> None:
    payload = build_cancel(ANSWER_CHAVE, "  Desistência\tdo   comprador ")
    assert payload == {"chave_acesso": ANSWER_CHAVE, "motivo": "Desistência do comprador"}
    assert (
        build_cancel(ANSWER_CHAVE, "Desistência do comprador", "ascii")["motivo"]
        == "Desistencia do comprador"
    )
    with pytest.raises(CancelRefused):
        build_cancel(ANSWER_CHAVE, "curto 😀😀😀😀😀😀😀😀😀😀")  # 15 characters typed, 5 sendable
    with pytest.raises(InvalidDocument):
        build_cancel(ANSWER_CHAVE[:-1] + "0", "Desistencia do comprador")


# --------------------------------------------------------------------------- answers


def test_published_sucesso_example_is_not_json_and_means_unknown() -> None:
    with pytest.raises(RemoteProtocolError, match="not valid JSON"):
        parse_response(frame_of(CREATE_NFCE, PUBLISHED_SUCESSO))


@pytest.mark.parametrize("encoding", ["iso-8859-1", "utf-8"])
def test_repaired_sucesso_example(encoding: str) -> None:
    response = parse_response(frame_of(CREATE_NFCE, REPAIRED_SUCESSO, encoding))
    assert response.status is ResponseStatus.SUCESSO
    assert response.numero == 173 and response.serie == 9 and response.emites_id == 348343
    assert response.chave == ANSWER_CHAVE
    assert response.emissao is not None
    assert response.emissao.numero_protocolo == "353180004176525"
    assert response.emissao.codigo_verificacao == "ifAR/RRacv7114sw8qG5tjq820c="
    assert response.authorized_at == datetime(2018, 12, 14, 19, 32, tzinfo=UTC)
    assert [(p.tipo_de_pagamento, p.valor_do_pagamento) for p in response.payments] == [
        ("03", Decimal("200.00"))
    ]
    assert response.xml == authorized_xml() and response.xml.startswith(b"<?xml")
    assert response.danfe == danfe_pdf() and response.danfe.startswith(b"%PDF")
    assert response.data["cliente"]["endereco"]["nome_municipio"] == "Uberlândia"
    value = response.data["produtos"][0]["tributacao"]["icms"]["aliquota_icms"]
    assert isinstance(value, Decimal) and value == Decimal("1.00")
    assert response.xml_facts.chave == XML_CHAVE  # the vendor's example mixes two notes
    assert response.errors == () and response.reference is None and not response.contingency


@pytest.mark.parametrize("encoding", ["iso-8859-1", "utf-8"])
def test_published_cancelada_example(encoding: str) -> None:
    response = parse_response(frame_of(CANCEL_NFCE, PUBLISHED_CANCELADA, encoding))
    assert response.status is ResponseStatus.CANCELADA
    assert response.numero == 173 and response.serie == 9
    assert response.cancelamento is not None
    assert response.cancelamento.chave_acesso == ANSWER_CHAVE
    assert response.cancelamento.numero_protocolo == "353180004176526"
    assert response.xml is not None and response.xml.startswith(b"<envEvento")
    assert response.xml_facts.chave == ANSWER_CHAVE
    assert response.xml_facts.event_at == datetime(2018, 12, 14, 19, 33, 2, tzinfo=UTC)
    assert response.danfe is None
    assert response.data["cliente"]["endereco"]["nome_municipio"] == "Uberlândia"


def answer(identifier: str = CREATE_NFCE, **fields: Any) -> Frame:
    return Frame(identifier, dumps_json(fields).encode("iso-8859-1"))


def test_spellings_of_number_and_payments() -> None:
    a = parse_response(
        answer(status="sucesso", nfce_number=12, forma_de_pagamento=[{"tipo_de_pagamento": "17"}])
    )
    b = parse_response(
        answer(status="sucesso", nfe_numero="12", forma_pagamento=[{"tipo_de_pagamento": "17"}])
    )
    c = parse_response(answer(status="sucesso", numero=12))
    assert a.numero == b.numero == c.numero == 12
    assert [p.tipo_de_pagamento for p in a.payments] == [p.tipo_de_pagamento for p in b.payments] == ["17"]


def test_errors_as_list_or_object_are_flattened() -> None:
    listed = parse_response(answer(status="rejeitada", erros=["NCM inválido", "CFOP inválido"]))
    assert listed.errors == ("NCM inválido", "CFOP inválido")
    keyed = parse_response(
        answer(
            status="rejeitada",
            erros={
                "forma_pagamento": ["tamanho deve estar entre 1 e 100"],
                "cliente.email": ["não é um endereço de e-mail válido"],
            },
        )
    )
    assert keyed.errors == (
        "forma_pagamento: tamanho deve estar entre 1 e 100",
        "cliente.email: não é um endereço de e-mail válido",
    )
    refused = parse_response(
        answer(
            CANCEL_NFCE,
            status="cancelamento_rejeitado",
            erros={"rejeicao": ["501 - Rejeicao: Prazo de Cancelamento Superior ao Previsto na Legislacao"]},
        )
    )
    assert refused.status is ResponseStatus.CANCELAMENTO_REJEITADO
    assert refused.errors == (
        "rejeicao: 501 - Rejeicao: Prazo de Cancelamento Superior ao Previsto na Legislacao",
    )
    assert flatten_errors({"a": {"b": ["x"], "c": "y"}, "d": 3}) == ("a.b: x", "a.c: y", "d: 3")


@pytest.mark.parametrize("status", list(ResponseStatus))
def test_every_status_and_create_cfe(status: ResponseStatus) -> None:
    assert parse_response(answer(CREATE_CFE, status=status.value)).status is status


def test_data_emissao_falls_back_to_dhrecbto() -> None:
    fields = sucesso_answer(with_data_emissao=False)
    response = parse_response(answer(**fields))
    assert response.emissao is not None and response.emissao.data_emissao is None
    assert response.authorized_at == datetime(2018, 10, 9, 12, 53, 16, tzinfo=UTC)  # 09:53:16-03:00


def test_reference_is_read_back_from_the_echo() -> None:
    request = build_create_nfce(context("abc_123"), profile())
    echoed = parse_response(answer(status="processando", **request))
    assert echoed.reference == "abc_123"


def test_xml_facts_of_the_real_note() -> None:
    facts = parse_xml_facts(authorized_xml())
    assert (facts.chave, facts.numero, facts.serie, facts.tp_emis, facts.tp_amb) == (
        XML_CHAVE,
        276,
        111,
        1,
        2,
    )
    assert facts.protocolo == "353180004134006" and facts.c_stat == "100"
    assert facts.emitted_at == datetime(2018, 10, 9, 12, 53, 13, tzinfo=UTC)
    assert parse_xml_facts(b"<not xml") == parse_xml_facts(None)
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'
    assert parse_xml_facts(bomb) == parse_xml_facts(None)  # a document with a DTD is not read


def test_xml_facts_of_an_offline_note() -> None:
    facts = parse_xml_facts(offline_xml())
    assert facts.chave == XML_CHAVE  # from infNFe/@Id: there is no protNFe yet
    assert facts.tp_emis == 9 and facts.received_at is None and facts.protocolo is None
    response = parse_response(answer(status="sucesso", xml=base64.b64encode(offline_xml()).decode()))
    assert response.contingency and response.chave == XML_CHAVE and response.authorized_at is None


@pytest.mark.parametrize(
    "frame",
    [
        Frame("TESTE", b'{"status": "sucesso"}'),  # not an answer identifier
        Frame(CREATE_NFCE, b'{"status": "autorizada"}'),  # undocumented status
        Frame(CREATE_NFCE, b'{"id": 1}'),  # no status at all
        Frame(CREATE_NFCE, b'["sucesso"]'),
        Frame(CREATE_NFCE, b""),
        Frame(CREATE_NFCE, b'{"status": "sucesso", "xml": "not base64!"}'),
        Frame(CREATE_NFCE, b'{"status": "sucesso", "danfe": 12}'),
        Frame(CREATE_NFCE, b'{"status": "sucesso", "nfe_numero": NaN}'),
        Frame(CREATE_NFCE, b'{"status": "sucesso", "nfe_numero": "doze"}'),
        Frame(CREATE_NFCE, b'{"status": "sucesso", "resposta_emissao": "x"}'),
        Frame(CREATE_NFCE, b'{"status": "sucesso", "resposta_emissao": {"chave_acesso": ["x"]}}'),
        Frame(CREATE_NFCE, b'{"status": "sucesso"} trailing'),
        Frame(CREATE_NFCE, b'{"status": "sucesso", "id": ' + b"9" * 5000 + b"}"),  # past int's digit limit
        Frame(CREATE_NFCE, b"[" * 100_000),  # nesting past the recursion limit
    ],
)
def test_unreadable_answers_are_remote_errors(frame: Frame) -> None:
    with pytest.raises(RemoteProtocolError):
        parse_response(frame)


def test_base64_wrapped_in_lines_is_accepted() -> None:
    wrapped = base64.encodebytes(b"%PDF-1.4 " * 40).decode("ascii")  # MIME style, 76 per line
    assert "\n" in wrapped
    assert parse_response(answer(status="sucesso", danfe=wrapped)).danfe == b"%PDF-1.4 " * 40


def test_parse_request_reads_what_encode_request_wrote() -> None:
    payload = build_create_nfce(context(), profile())
    decoder = FrameDecoder()
    decoder.feed(encode_request(CREATE_NFCE, payload))
    frame = decoder.next_frame()
    assert frame is not None and parse_request(frame) == payload
    with pytest.raises(RemoteProtocolError):
        parse_request(Frame(CREATE_NFCE, b"[1]"))


def test_encode_response_round_trip() -> None:
    data = encode_response(CREATE_NFCE, sucesso_answer(reference="s1"))
    decoder = FrameDecoder()
    decoder.feed(data)
    frame = decoder.next_frame()
    assert frame is not None
    response = parse_response(frame)
    assert (response.status, response.reference, response.numero) == (ResponseStatus.SUCESSO, "s1", 276)


JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=20)
    | st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**6), max_value=10**6, places=2)
)
KEYS = st.sampled_from(
    [
        "status", "erros", "errors", "nfe_numero", "nfce_number", "numero", "serie", "id", "xml", "danfe",
        "resposta_emissao", "resposta_cancelamento", "informacoes_adicionais", "forma_de_pagamento",
        "forma_pagamento", "chave_acesso", "data_emissao", "numero_protocolo", "informacoes_contribuinte",
        "tipo_de_pagamento", "valor_do_pagamento", "rejeicao",
    ]
)  # fmt: skip
JSON_VALUES = st.recursive(
    JSON_SCALARS | st.sampled_from(list(ResponseStatus)).map(str),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=20,
)


@given(
    identifier=st.sampled_from([CREATE_NFCE, CREATE_CFE, CANCEL_NFCE]),
    body=st.dictionaries(KEYS, JSON_VALUES),
)
def test_any_json_object_parses_or_raises_a_remote_error(identifier: str, body: dict[str, Any]) -> None:
    with contextlib.suppress(RemoteProtocolError):
        parse_response(Frame(identifier, dumps_json(body).encode("iso-8859-1", errors="replace")))


@given(payload=st.binary(max_size=300))
def test_any_bytes_parse_or_raise_a_remote_error(payload: bytes) -> None:
    with contextlib.suppress(RemoteProtocolError):
        parse_response(Frame(CREATE_NFCE, payload))
