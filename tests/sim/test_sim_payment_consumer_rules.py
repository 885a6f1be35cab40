"""The simulators judge payments and consumers as SEFAZ does (issue 14 items 3 and 4): tPag 99
without its description (xPag) is 441, tPag 90 with a value is 904, a consumer CNPJ whose
check digits fail (numeric or alphanumeric) is 208; the same notes, correct, are authorized.
Each simulator is a real server on 127.0.0.1, spoken to in its own dialect."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from posapp.sim.emites import EmitesSimulator
from posapp.sim.focusnfe import FocusNfeSimulator
from posapp.sim.integranotas import IntegraNotasSimulator
from tests.sim.emites_wire import ask, example, with_sim
from tests.sim.test_provider_sims import TOKEN, focus_body, integra_body

GOOD_ALNUM_CNPJ = "12ABC34501DE35"  # the Receita's published example
BAD_ALNUM_CNPJ = "12ABC34501DE36"


def emites_answer(request: dict[str, Any]) -> dict[str, Any]:
    answers: list[dict[str, Any]] = []

    async def scenario(sim: EmitesSimulator) -> None:
        answers.append(await ask(sim.port, "CREATE_NFCE", request))

    with_sim(scenario)
    return answers[0]


def emites_request(payment: dict[str, Any], cliente: dict[str, Any] | None = None) -> dict[str, Any]:
    request = example()
    total = request["forma_de_pagamento"][0]["valor_do_pagamento"]
    request["forma_de_pagamento"] = [
        {**payment, "valor_do_pagamento": payment.get("valor_do_pagamento", total)}
    ]
    request.pop("cliente", None)
    if cliente is not None:
        request["cliente"] = cliente
    return copy.deepcopy(request)


def test_emites_rejects_99_without_description_and_authorizes_it_with_one() -> None:
    bare = emites_answer(emites_request({"tipo_de_pagamento": "99", "modalidade": 0}))
    assert bare["status"] == "rejeitada"
    assert any(e.startswith("441 - Rejeição") for e in bare["erros"]["rejeicao"])
    described = emites_answer(
        emites_request({"tipo_de_pagamento": "99", "modalidade": 0, "descricao_do_pagamento": "Cashback app"})
    )
    assert described["status"] == "sucesso"


def test_emites_rejects_90_with_a_value_and_takes_it_at_zero() -> None:
    valued = emites_answer(emites_request({"tipo_de_pagamento": "90", "valor_do_pagamento": 5}))
    assert valued["status"] == "rejeitada"
    assert any(e.startswith("904 - Rejeição") for e in valued["erros"]["rejeicao"])
    zero = emites_answer(emites_request({"tipo_de_pagamento": "90", "valor_do_pagamento": 0}))
    assert zero["status"] == "sucesso"


@pytest.mark.parametrize(("document", "ok"), [(GOOD_ALNUM_CNPJ, True), (BAD_ALNUM_CNPJ, False)])
def test_emites_checks_an_alphanumeric_consumer_cnpj(document: str, ok: bool) -> None:
    cliente = {"cpf_cnpj": document, "nome": "MERCADO EXEMPLO LTDA", "pessoa_fisica_juridica": "company"}
    answer = emites_answer(emites_request({"tipo_de_pagamento": "01", "modalidade": 0}, cliente))
    if ok:
        assert answer["status"] == "sucesso"
    else:
        assert answer["status"] == "rejeitada"
        assert "208 - Rejeição: CNPJ do destinatário inválido" in answer["erros"]["rejeicao"]


@pytest.fixture
def focus() -> Iterator[httpx.Client]:
    with (
        FocusNfeSimulator(token=TOKEN, processing_queries=0) as sim,
        httpx.Client(base_url=sim.url, auth=(TOKEN, ""), timeout=3) as client,
    ):
        yield client


@pytest.mark.parametrize(
    ("payment", "extra", "code"),
    [
        ({"forma_pagamento": "99", "valor_pagamento": "29.94"}, {}, "441"),
        ({"forma_pagamento": "90", "valor_pagamento": "29.94"}, {}, "904"),
        ({"forma_pagamento": "01", "valor_pagamento": "29.94"}, {"cnpj_destinatario": BAD_ALNUM_CNPJ}, "208"),
        (
            {"forma_pagamento": "99", "valor_pagamento": "29.94", "descricao_pagamento": "Cashback app"},
            {"cnpj_destinatario": GOOD_ALNUM_CNPJ},
            None,
        ),
    ],
)
def test_focus_judges_payments_and_consumers_as_sefaz(
    focus: httpx.Client, payment: dict[str, Any], extra: dict[str, Any], code: str | None
) -> None:
    answer = focus.post("/v2/nfce?ref=pay1", json=focus_body(formas_pagamento=[payment], **extra)).json()
    if code is None:
        assert answer["status"] == "autorizado"
    else:
        assert (answer["status"], answer["status_sefaz"]) == ("erro_autorizacao", code)
        assert answer["mensagem_sefaz"].startswith("Rejeição")


@pytest.mark.parametrize(
    ("payment", "destinatario", "code"),
    [
        ({"meio_pagamento": "99", "valor": "9.00"}, None, 441),
        ({"meio_pagamento": "90", "valor": "9.00"}, None, 904),
        ({"meio_pagamento": "01", "valor": "9.00"}, {"cnpj": BAD_ALNUM_CNPJ}, 208),
        (
            {"meio_pagamento": "99", "valor": "9.00", "descricao": "Cashback app"},
            {"cnpj": GOOD_ALNUM_CNPJ},
            None,
        ),
    ],
)
def test_integra_judges_payments_and_consumers_as_sefaz(
    payment: dict[str, Any], destinatario: dict[str, Any] | None, code: int | None
) -> None:
    extra: dict[str, Any] = {"pagamento": {"formas_pagamento": [payment]}}
    if destinatario is not None:
        extra["destinatario"] = destinatario
    with (
        IntegraNotasSimulator(token=TOKEN, processing_queries=0) as sim,
        httpx.Client(base_url=sim.url, headers={"Authorization": TOKEN}, timeout=3) as client,
    ):
        answer = client.post("/nfce", json=integra_body(1, **extra)).json()
    if code is None:
        assert answer["sucesso"] is True
    else:
        assert (answer["sucesso"], answer["codigo"]) == (False, code)
