"""Payments per layout 4.00, the consumer, the alphanumeric CNPJ and the cancel window
(issue 14 items 3, 4 and 6): every rule with the Portuguese message that names its field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from posapp.config import ConfigError, load_config
from posapp.domain.cancel import CancelPolicy, window_start
from posapp.domain.documents import (
    build_chave,
    chave_check_digit,
    format_cpf_cnpj,
    parse_chave,
    validate_cnpj,
    validate_cpf_or_cnpj,
)
from posapp.domain.errors import InvalidDocument, InvalidSale
from posapp.domain.payments import PaymentMethod, parse_payment_method
from posapp.domain.sale import FIELD_NAMES, Address, CardDetails, Customer, Payment, Sale, field_path
from posapp.domain.sale_file import sale_from_json_bytes
from posapp.domain.sale_rules import CARD_DETAIL_UFS, check_sale_for_store
from tests.conftest import sale_mapping

TOTAL = "35.90"  # the example sale's total (6 x 4,99 + 0,375 kg x 15,90)


def sale_with(payments: list[dict[str, Any]], **overrides: Any) -> Sale:
    return Sale.from_mapping(sale_mapping(payments=payments, **overrides))


def refused(payments: list[dict[str, Any]], **overrides: Any) -> str:
    with pytest.raises(InvalidSale) as info:
        sale_with(payments, **overrides)
    return info.value.user_message


# -- the alphanumeric CNPJ (IN RFB 2.229/2024), by python-stdnum --------------------------------


@pytest.mark.parametrize("text", ["12.ABC.345/01DE-35", "12ABC34501DE35", "12.abc.345/01de-35"])
def test_the_receitas_alphanumeric_example_is_a_valid_cnpj(text: str) -> None:
    assert validate_cnpj(text) == "12ABC34501DE35"
    assert validate_cpf_or_cnpj(text) == "12ABC34501DE35"
    assert format_cpf_cnpj("12ABC34501DE35") == "12.ABC.345/01DE-35"


@pytest.mark.parametrize("text", ["12.ABC.345/01DE-36", "12ABC34501DE53", "00000000000000"])
def test_a_wrong_check_digit_is_refused_in_portuguese(text: str) -> None:
    with pytest.raises(InvalidDocument) as info:
        validate_cnpj(text)
    assert "CNPJ inválido" in info.value.user_message


def test_numeric_documents_still_validate() -> None:
    assert validate_cpf_or_cnpj("529.982.247-25") == "52998224725"
    assert validate_cpf_or_cnpj("11.222.333/0001-81") == "11222333000181"
    with pytest.raises(InvalidDocument):
        validate_cpf_or_cnpj("529.982.247-24")


def test_a_chave_with_an_alphanumeric_emitter_cnpj_round_trips() -> None:
    key = build_chave(uf="SP", year_month="2608", cnpj="12ABC34501DE35", series=1, number=42, code="12345678")
    # The check digit counts each character as its ASCII code minus 48 ("A" = 17).
    first43 = key.digits[:43]
    weights = [2, 3, 4, 5, 6, 7, 8, 9]
    total = sum((ord(c) - 48) * weights[i % 8] for i, c in enumerate(reversed(first43)))
    assert key.check_digit == (0 if total % 11 < 2 else 11 - total % 11) == chave_check_digit(first43)
    parsed = parse_chave(f"NFe{key.digits}")
    assert (parsed.cnpj, parsed.number, parsed.uf) == ("12ABC34501DE35", 42, "SP")
    wrong = key.digits[:43] + str((key.check_digit + 1) % 10)
    with pytest.raises(InvalidDocument) as info:
        parse_chave(wrong)
    assert "dígito verificador" in info.value.user_message
    with pytest.raises(InvalidDocument):
        parse_chave(key.digits[:2] + "A" + key.digits[3:])  # letters only in the CNPJ part


# -- payments ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("pix", "17"),
        ("pix_dinamico", "17"),
        ("pix_estatico", "20"),
        ("credito_loja", "21"),
        ("cartao_loja", "05"),
        ("sem_pagamento", "90"),
        ("outros", "99"),
        ("22", "22"),
    ],
)
def test_names_map_to_the_current_tpag_table(name: str, code: str) -> None:
    assert parse_payment_method(name).value == code


def test_every_code_of_the_current_table_is_known() -> None:
    codes = "01 02 03 04 05 10 11 12 13 15 16 17 18 19 20 21 22 90 99".split()  # noqa: SIM905
    assert sorted(m.value for m in PaymentMethod) == codes
    with pytest.raises(InvalidSale):
        sale_with([{"method": "14", "amount": TOTAL}])  # duplicata mercantil: withdrawn


def test_outros_requires_its_description_and_carries_it() -> None:
    message = refused([{"method": "outros", "amount": TOTAL}])
    assert message.startswith("pagamentos[1].descricao:") and "2 a 60" in message
    sale = sale_with([{"method": "outros", "amount": TOTAL, "description": "  Cashback   do app "}])
    assert sale.payments[0].description == "Cashback do app"
    assert sale.payments[0].label == "Cashback do app"


@pytest.mark.parametrize("text", ["x", "y" * 61])
def test_a_description_has_2_to_60_characters(text: str) -> None:
    message = refused([{"method": "99", "amount": TOTAL, "description": text}])
    assert message.startswith("pagamentos[1].descricao:") and "xPag" in message


def test_a_description_on_another_method_is_refused_not_dropped() -> None:
    message = refused([{"method": "dinheiro", "amount": TOTAL, "description": "troco"}])
    assert (
        message == "pagamentos[1].descricao: descrição só em pagamento 'outros' (99); esta forma é Dinheiro"
    )


def test_sem_pagamento_has_value_zero_and_stands_alone() -> None:
    assert "'sem pagamento' (90) tem valor zero" in refused([{"method": "90", "amount": "5.00"}])
    sale = sale_with([{"method": "sem_pagamento", "amount": "0"}])
    assert sale.paid == 0
    mixed = refused([{"method": "90", "amount": "0"}, {"method": "dinheiro", "amount": TOTAL}])
    assert mixed.startswith("pagamentos: 'sem pagamento' (90) não se combina")
    assert "maior que zero" in refused([{"method": "dinheiro", "amount": "0"}])


def test_an_integrated_card_carries_acquirer_brand_and_authorization() -> None:
    message = refused([{"method": "credito", "amount": TOTAL, "card": {"integration": 1, "brand": "01"}}])
    assert message.startswith("pagamentos[1].cartao:") and "cnpj_credenciadora, autorizacao" in message
    card = {"integration": 1, "acquirer_cnpj": "12.ABC.345/01DE-35", "brand": "06", "authorization": "A1B2C3"}
    sale = sale_with([{"method": "credito", "amount": TOTAL, "card": card}])
    assert sale.payments[0].card is not None and sale.payments[0].card.acquirer_cnpj == "12ABC34501DE35"
    assert "bandeira '28' desconhecida" in refused(
        [{"method": "debito", "amount": TOTAL, "card": {"brand": "28"}}]
    )


@pytest.mark.parametrize("uf", sorted(CARD_DETAIL_UFS))
def test_the_card_states_require_the_card_details(uf: str) -> None:
    bare = sale_with([{"method": "credito", "amount": TOTAL}])
    with pytest.raises(InvalidSale) as info:
        check_sale_for_store(bare, uf=uf)
    assert f"em {uf} o cartão exige CNPJ da credenciadora" in info.value.user_message
    card = {"acquirer_cnpj": "11222333000181", "brand": "01", "authorization": "123456"}
    complete = sale_with([{"method": "credito", "amount": TOTAL, "card": card}])
    assert check_sale_for_store(complete, uf=uf) is complete


def test_elsewhere_a_card_without_details_is_fine() -> None:
    bare = sale_with([{"method": "debito", "amount": TOTAL}])
    assert check_sale_for_store(bare, uf="DF") is bare


def test_sale_json_with_a_description_is_read(tmp_path: Path) -> None:
    path = tmp_path / "sale.json"
    path.write_text(
        '{"items": [{"code": "1", "description": "Arroz", "ncm": "10063021", "quantity": "1",'
        ' "unit_price": "5"}], "payments": [{"method": "outros", "amount": "5",'
        ' "description": "Vale da casa"}]}',
        encoding="utf-8",
    )
    sale = sale_from_json_bytes(path.read_bytes())
    assert sale.payments[0].description == "Vale da casa"


def test_an_unknown_payment_key_is_named_in_portuguese() -> None:
    message = refused([{"method": "outros", "amount": TOTAL, "descricao": "x"}])
    assert message.startswith('pagamentos[1]: campo "descricao" desconhecido; os campos aqui são: ')
    assert "description" in message and "Extra inputs" not in message


# -- the consumer -----------------------------------------------------------------------------

ADDRESS = {
    "street": "SQN 210 Bloco B",
    "number": "102",
    "district": "Asa Norte",
    "city_code": "5300108",
    "city": "Brasília",
    "uf": "df",
    "cep": "70862-020",
}


def test_a_consumer_is_a_document_or_a_foreign_id_with_name_and_address() -> None:
    sale = sale_with(
        [{"method": "dinheiro", "amount": "50"}],
        customer={"foreign_id": "AB123456", "name": "John Smith", "address": ADDRESS},
    )
    customer = sale.customer
    assert customer is not None and customer.is_foreign and customer.identifier == "AB123456"
    assert customer.address is not None and (customer.address.uf, customer.address.cep) == ("DF", "70862020")
    both = refused(
        [{"method": "dinheiro", "amount": "50"}],
        customer={"document": "529.982.247-25", "foreign_id": "AB123456"},
    )
    assert both.startswith("consumidor.documento: informe um documento do consumidor")
    bad_city = refused(
        [{"method": "dinheiro", "amount": "50"}],
        customer={"document": "529.982.247-25", "address": {**ADDRESS, "city_code": "53001"}},
    )
    assert bad_city.startswith("consumidor.endereco.codigo_municipio: código IBGE")


def test_ten_thousand_reais_need_an_identified_consumer() -> None:
    big = sale_mapping(payments=[{"method": "dinheiro", "amount": "10000.00"}])
    big["items"] = [{**big["items"][0], "quantity": "1", "unit_price": "10000.00"}]
    big.pop("customer", None)
    with pytest.raises(InvalidSale) as info:
        check_sale_for_store(Sale.from_mapping(big), uf="SP")
    assert "R$ 10.000,00" in info.value.user_message and "nome" in info.value.user_message
    big["customer"] = {"document": "529.982.247-25", "name": "Maria da Silva"}
    assert check_sale_for_store(Sale.from_mapping(big), uf="SP").customer is not None
    small = sale_with([{"method": "dinheiro", "amount": "50"}])
    assert check_sale_for_store(small.model_copy(update={"customer": None}), uf="SP").customer is None
    # 'sem pagamento' (90) pays zero: the payments bound nothing there, the items decide
    free = sale_mapping(payments=[{"method": "sem_pagamento", "amount": "0"}])
    free["items"] = big["items"]
    free.pop("customer", None)
    with pytest.raises(InvalidSale) as caught:
        check_sale_for_store(Sale.from_mapping(free), uf="SP")
    assert "R$ 10.000,00" in caught.value.user_message


@pytest.mark.parametrize("paid", ["10000.00", "12000.00", "50.00", "0"])
@pytest.mark.parametrize("price", ["9999.99", "10000.00", "49.99", "50.00"])
def test_total_reaches_is_total_at_least(paid: str, price: str) -> None:
    """The shortcut the regime check takes (payments bound the total) answers as the sum would."""
    data = sale_mapping(payments=[{"method": "dinheiro" if paid != "0" else "sem_pagamento", "amount": paid}])
    data["items"] = [{**data["items"][0], "quantity": "1", "unit_price": price}]
    try:
        sale = Sale.from_mapping(data)
    except InvalidSale:
        return  # paid less than the total: no such sale exists
    for threshold in ("50.00", "9999.99", "10000.00", "10000.01"):
        assert sale.total_reaches(Decimal(threshold)) is (sale.total >= Decimal(threshold))


def test_a_delivery_needs_the_consumers_name_and_address() -> None:
    named = {"document": "529.982.247-25", "name": "Maria da Silva"}
    sale = sale_with([{"method": "dinheiro", "amount": "50"}], customer=named, delivery=True)
    with pytest.raises(InvalidSale) as info:
        check_sale_for_store(sale, uf="DF")
    assert "entrega em domicílio exige documento, nome e endereço" in info.value.user_message
    full = sale_with(
        [{"method": "dinheiro", "amount": "50"}], customer={**named, "address": ADDRESS}, delivery=True
    )
    assert check_sale_for_store(full, uf="DF").delivery


# -- the cancel window ------------------------------------------------------------------------


def test_configuration_may_shorten_the_window_never_lengthen_it(tmp_path: Path) -> None:
    path = tmp_path / "posapp.toml"
    path.write_text("[nfce]\ncancel_window_min = 31\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "o máximo legal é 30" in info.value.user_message and "nunca alongá-lo" in info.value.user_message
    path.write_text("[nfce]\ncancel_window_min = 20\n", encoding="utf-8")
    assert load_config(path).nfce.cancel_window_min == 20
    with pytest.raises(ValueError):
        CancelPolicy(window=timedelta(minutes=31))


def test_an_offline_note_counts_its_window_from_its_authorization() -> None:
    emitted = datetime(2026, 8, 1, 10, 0, tzinfo=UTC)
    assert window_start(emitted, contingency=True, protocol=None) is None  # not authorized yet
    authorized = emitted + timedelta(hours=2)
    start = window_start(authorized, contingency=True, protocol="353260000000001")
    assert start == authorized
    policy = CancelPolicy()
    assert policy.deadline(authorized) == authorized + timedelta(minutes=29)
    policy.check_window(authorized, authorized + timedelta(minutes=20))  # still open
    assert window_start(emitted, contingency=False, protocol=None) == emitted


def test_money_stays_decimal() -> None:
    sale = sale_with([{"method": "outros", "amount": TOTAL, "description": "Vale"}])
    assert isinstance(sale.payments[0].amount, Decimal)


def test_every_new_field_has_a_portuguese_name() -> None:
    for model in (Address, Customer, Payment, CardDetails):
        assert set(model.model_fields) <= set(FIELD_NAMES), model
    assert field_path(("customer", "address", "city_code")) == "consumidor.endereco.codigo_municipio"
