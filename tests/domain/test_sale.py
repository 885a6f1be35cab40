from decimal import Decimal
from typing import Any

import pytest

from posapp.domain.errors import InvalidSale
from posapp.domain.payments import PaymentMethod, parse_payment_method
from posapp.domain.sale import SEM_GTIN, Sale, gtin_is_valid
from tests.conftest import TOTAL_OF_SAMPLE, sale_mapping


def test_totals_and_change(sale_data: dict[str, Any]) -> None:
    sale = Sale.from_mapping(sale_data)
    assert sale.total == TOTAL_OF_SAMPLE
    assert sale.change == Decimal("50.00") - TOTAL_OF_SAMPLE
    assert sale.items[1].gtin == SEM_GTIN
    assert sale.customer is not None and sale.customer.document == "52998224725"


def test_discount_reduces_total() -> None:
    data = sale_mapping()
    data["items"][0]["discount"] = "1.00"
    assert Sale.from_mapping(data).total == TOTAL_OF_SAMPLE - 1


def test_change_only_from_cash() -> None:
    data = sale_mapping(payments=[{"method": "credito", "amount": "40.00"}])
    with pytest.raises(InvalidSale) as info:
        Sale.from_mapping(data)
    assert "troco" in info.value.user_message
    split = sale_mapping(
        payments=[{"method": "pix", "amount": "30.00"}, {"method": "dinheiro", "amount": "10.00"}]
    )
    sale = Sale.from_mapping(split)
    assert sale.change == Decimal("40.00") - TOTAL_OF_SAMPLE


def test_underpaid() -> None:
    with pytest.raises(InvalidSale) as info:
        Sale.from_mapping(sale_mapping(payments=[{"method": "dinheiro", "amount": "10.00"}]))
    assert "insuficiente" in info.value.user_message


def test_item_without_ncm_names_the_item() -> None:
    data = sale_mapping()
    del data["items"][1]["ncm"]
    with pytest.raises(InvalidSale) as info:
        Sale.from_mapping(data)
    assert info.value.user_message.startswith("itens[2].ncm: ")  # SALE.json's place, 1-based
    assert "obrigatório" in info.value.user_message


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("ncm", "2203", "NCM"),
        ("cfop", "51", "CFOP"),
        ("gtin", "7891000315508", "GTIN"),
        ("quantity", "0", "quantidade"),
        ("quantity", 1.5, "float"),
        ("unit_price", "-1", "negativo"),
    ],
)
def test_bad_item_fields(field: str, value: object, needle: str) -> None:
    data = sale_mapping()
    data["items"][0][field] = value
    with pytest.raises(InvalidSale) as info:
        Sale.from_mapping(data)
    assert needle.lower() in (info.value.user_message + str(info.value)).lower()


def test_bad_cpf_in_sale() -> None:
    with pytest.raises(InvalidSale) as info:
        Sale.from_mapping(sale_mapping(customer={"document": "529.982.247-24"}))
    assert "CPF" in info.value.user_message


def test_payment_methods() -> None:
    assert parse_payment_method("pix") is PaymentMethod.PIX
    assert parse_payment_method("20") is PaymentMethod.PIX_ESTATICO
    assert parse_payment_method("1") is PaymentMethod.DINHEIRO
    with pytest.raises(InvalidSale):
        parse_payment_method("bitcoin")


def test_gtin_check_digit() -> None:
    assert gtin_is_valid("7891000315507")
    assert gtin_is_valid("96385074")
    assert not gtin_is_valid("7891000315508")
    assert not gtin_is_valid("123")


def test_sale_is_immutable_and_round_trips_json(sale_data: dict[str, Any]) -> None:
    sale = Sale.from_mapping(sale_data)
    again = Sale.model_validate_json(sale.model_dump_json())
    assert again == sale
    assert again.total == sale.total
