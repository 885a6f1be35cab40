"""The tax registry of an item and the store's regime (CRT): codes, rates, and the rules
that decide whether a sale can go to SEFAZ as it is.

The NF-e 4.00 layout's groups, as a Brazilian retail counter uses them:

* ``ICMS``: a store in the Simples Nacional (CRT 1, or 4 for a MEI) sends a **CSOSN**
  (``ICMSSN102`` ...); one outside it (CRT 3, and CRT 2, a Simples store over the sublimit,
  which pays ICMS like the normal regime) sends a **CST** (``ICMS00`` ...). SEFAZ rejects the
  wrong one (590, 591). CST 00 carries ``modBC``/``vBC``/``pICMS``/``vICMS``, 20 adds
  ``pRedBC``; goods already taxed by substitution (CST 60, CSOSN 500) carry what was retained
  before (``vBCSTRet``, ``pST``, ``vICMSSTRet``) and need the CEST (806) and CFOP 5405
  (5656/5667 for fuel).
* ``PIS``/``COFINS``: a CST each; 01/02 with their rate (``pPIS``/``pCOFINS``).
* ``IBSCBS`` (LC 214/2025): CST and ``cClassTrib`` (whose first three digits are the CST);
  required of stores outside the Simples from 2026.
* Lei 12.741/2012: the approximate federal/state/municipal rates of the IBPT table, whose
  values are printed on the DANFE and sent as ``vTotTrib``.

Values the registry keeps per unit (the ST values retained at purchase) become the item's
by quantity; money is rounded half up to the centavo as the NF-e does.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from posapp.domain.errors import DomainError
from posapp.domain.money import ZERO, round_money, to_decimal


class Crt(IntEnum):
    """``emit/CRT``: the store's tax regime."""

    SIMPLES = 1
    SIMPLES_EXCESSO = 2  # over the Simples sublimit: ICMS as the normal regime (CST)
    NORMAL = 3
    MEI = 4

    @property
    def uses_csosn(self) -> bool:
        return self in (Crt.SIMPLES, Crt.MEI)

    @property
    def label(self) -> str:
        return _CRT_LABELS[self]


_CRT_LABELS: Final = {
    Crt.SIMPLES: "Simples Nacional",
    Crt.SIMPLES_EXCESSO: "Simples Nacional, excesso de sublimite",
    Crt.NORMAL: "regime normal",
    Crt.MEI: "MEI",
}

#: ICMS CSTs an NFC-e of a retail counter uses (the rest need groups posapp does not send).
ICMS_CSTS: Final = {
    "00": "tributada integralmente",
    "20": "com redução de base de cálculo",
    "40": "isenta",
    "41": "não tributada",
    "60": "ICMS cobrado anteriormente por substituição tributária",
}
CSOSNS: Final = {
    "102": "tributada pelo Simples sem permissão de crédito",
    "103": "isenção do ICMS no Simples para faixa de receita bruta",
    "300": "imune",
    "400": "não tributada pelo Simples",
    "500": "ICMS cobrado anteriormente por substituição tributária",
}
#: The codes of goods whose ICMS was retained before (substitution): CEST, CFOP 5405 and the
#: retained values go with them.
ST_CODES: Final = frozenset({"60", "500"})
ST_CFOPS: Final = frozenset({"5405", "5656", "5667"})
PIS_COFINS_CSTS: Final = frozenset({"01", "02", "04", "05", "06", "07", "08", "09", "49", "99"})
PIS_COFINS_WITH_RATE: Final = frozenset({"01", "02"})
#: Foreign goods (origins 1, 2, 6, 7) take IBPT's "importados" federal rate.
FOREIGN_ORIGINS: Final = frozenset({1, 2, 6, 7})

_CST_IBSCBS = re.compile(r"^[0-9]{3}$")
_CCLASSTRIB = re.compile(r"^[0-9]{6}$")


class TaxFieldError(ValueError):
    """A broken rule of one tax field; ``str()`` is Portuguese."""


def _rate(value: object) -> Decimal | None:
    """A percentage (``"18"``, ``"7,6"``, ``18``): 0 to 100, at most 4 decimals (layout 3v2-4)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float):
        value = repr(value)  # a TOML float: its shortest text is what the person wrote
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise TaxFieldError('deve ser um percentual como "18.00" (texto)')
    try:
        number = to_decimal(value)
    except DomainError:
        raise TaxFieldError(f"'{str(value)[:20]}' não é um percentual") from None
    if number < 0 or number > 100:
        raise TaxFieldError("deve ser um percentual de 0 a 100")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -4:
        raise TaxFieldError("no máximo 4 casas decimais")
    return number


def _unit_money(value: object) -> Decimal | None:
    """A per-unit amount (ST retained at purchase): not negative, at most 10 decimals."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise TaxFieldError('deve ser um valor como "1.25" (texto)')
    try:
        number = to_decimal(value)
    except DomainError:
        raise TaxFieldError(f"'{str(value)[:20]}' não é um valor") from None
    exponent = number.as_tuple().exponent
    if number < 0 or number >= Decimal("1e13") or (isinstance(exponent, int) and exponent < -10):
        raise TaxFieldError("valor fora do limite (0 ou mais, até 10 casas decimais)")
    return number


def _code(value: object, allowed: Mapping[str, str] | frozenset[str], what: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise TaxFieldError(f"{what} deve ser um código (texto)")
    text = str(value).strip()
    if text not in allowed:
        raise TaxFieldError(
            f"{what} '{text[:8]}' não aceito na NFC-e; use um de: {', '.join(sorted(allowed))}"
        )
    return text


class ItemTax(BaseModel):
    """An item's (or a product's, or the store's default) tax registry. Every field is
    optional here; :func:`tax_problems` says what the store's regime requires."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    icms_cst: str | None = None
    csosn: str | None = None
    icms_rate: Decimal | None = None  # pICMS
    icms_base_reduction: Decimal | None = None  # pRedBC (CST 20)
    st_base_unit: Decimal | None = None  # vBCSTRet per unit
    st_rate: Decimal | None = None  # pST: the consumer's rate
    st_icms_unit: Decimal | None = None  # vICMSSTRet per unit
    pis_cst: str | None = None
    pis_rate: Decimal | None = None
    cofins_cst: str | None = None
    cofins_rate: Decimal | None = None
    ibs_cbs_cst: str | None = None
    cclass_trib: str | None = None
    ibpt_federal: Decimal | None = None  # Lei 12.741: approximate rates (%)
    ibpt_state: Decimal | None = None
    ibpt_municipal: Decimal | None = None
    ibpt_source: str | None = Field(default=None, max_length=60)

    @field_validator("icms_cst", mode="before")
    @classmethod
    def _icms_cst(cls, value: object) -> str | None:
        if isinstance(value, str) and len(value.strip()) == 3 and value.strip()[0].isdigit():
            value = value.strip()[1:]  # "060" written with the origin in front
        return _code(value, ICMS_CSTS, "CST do ICMS")

    @field_validator("csosn", mode="before")
    @classmethod
    def _csosn(cls, value: object) -> str | None:
        return _code(value, CSOSNS, "CSOSN")

    @field_validator("pis_cst", "cofins_cst", mode="before")
    @classmethod
    def _pis_cofins(cls, value: object) -> str | None:
        if isinstance(value, int) and not isinstance(value, bool):
            value = f"{value:02d}"
        return _code(value, PIS_COFINS_CSTS, "CST de PIS/COFINS")

    @field_validator(
        "icms_rate",
        "icms_base_reduction",
        "st_rate",
        "pis_rate",
        "cofins_rate",
        "ibpt_federal",
        "ibpt_state",
        "ibpt_municipal",
        mode="before",
    )
    @classmethod
    def _rates(cls, value: object) -> Decimal | None:
        return _rate(value)

    @field_validator("st_base_unit", "st_icms_unit", mode="before")
    @classmethod
    def _unit_values(cls, value: object) -> Decimal | None:
        return _unit_money(value)

    @field_validator("ibs_cbs_cst", mode="before")
    @classmethod
    def _ibs_cbs_cst(cls, value: object) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip()
        if not _CST_IBSCBS.match(text):
            raise TaxFieldError("CST do IBS/CBS deve ter 3 dígitos, como 000")
        return text

    @field_validator("cclass_trib", mode="before")
    @classmethod
    def _cclass_trib(cls, value: object) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip()
        if not _CCLASSTRIB.match(text):
            raise TaxFieldError("cClassTrib deve ter 6 dígitos, como 000001")
        return text

    @field_validator("ibpt_source", mode="before")
    @classmethod
    def _source(cls, value: object) -> str | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        return str(value)

    def merged_over(self, defaults: ItemTax | None) -> ItemTax:
        """This registry with the store's ``defaults`` where this one says nothing. The ICMS
        code is one choice: an item with its own CST or CSOSN takes neither code from the
        defaults, nor their per-unit ST values (they come from each product's purchase); it
        may take the store's rates (the UF's internal rate, pST)."""
        return self if defaults is None else _merged(self, defaults)

    @property
    def icms_code(self) -> str | None:
        """Whichever ICMS code the registry has (the store's defaults, where only one is)."""
        return self.icms_cst or self.csosn

    def icms_code_for(self, crt: Crt) -> str | None:
        """The code a store of regime ``crt`` sends: the CSOSN in the Simples, else the CST.
        A registry may hold both (one catalog for stores of both regimes)."""
        return self.csosn if crt.uses_csosn else self.icms_cst

    def is_st_for(self, crt: Crt) -> bool:
        return self.icms_code_for(crt) in ST_CODES


@functools.lru_cache(maxsize=1024)
def _merged(tax: ItemTax, defaults: ItemTax) -> ItemTax:
    # Cached: every item of every sale (on the event loop, before it is stored) and every
    # product scanned goes through here, and a store has a few hundred registries under one
    # set of defaults. Both are frozen and compared by value, so equal pairs share a merge
    # (a rate written 18 or 18.00 is the same rate; the layout writes both as 18.00).
    own = {k: v for k, v in tax.__dict__.items() if v is not None}
    if not own:
        return defaults  # the common case: a product that says nothing
    base = {k: v for k, v in defaults.__dict__.items() if v is not None}
    if "icms_cst" in own or "csosn" in own:
        for key in _ICMS_FIELDS:
            base.pop(key, None)
    # Every value was validated in its own registry and ItemTax has no rule across fields
    # (tests/domain/test_taxes.py keeps it so): built, not validated again.
    return ItemTax.model_construct(**{**base, **own})


#: The tax registry's fields, in order: the catalog's tax columns and what the doctor reads.
TAX_FIELDS: tuple[str, ...] = tuple(ItemTax.model_fields)


_ICMS_FIELDS: Final = ("icms_cst", "csosn", "st_base_unit", "st_icms_unit")


@dataclass(frozen=True, slots=True)
class TaxProblem:
    """A rule of the store's regime an item breaks: the SALE.json field and why."""

    field: str
    message: str


def tax_problems(tax: ItemTax | None, *, crt: Crt, cfop: str, cest: str | None) -> list[TaxProblem]:
    """What keeps this item from going to SEFAZ from a store of regime ``crt``."""
    return list(_tax_problems(tax or EMPTY_TAX, crt, cfop, bool(cest)))


@functools.lru_cache(maxsize=1024)
def _tax_problems(t: ItemTax, crt: Crt, cfop: str, has_cest: bool) -> tuple[TaxProblem, ...]:
    # Cached: every item of every sale is checked (on the event loop, before the sale is
    # stored), and a store sells the same few hundred registries all day. ItemTax is frozen,
    # so equal registries hash alike; the rules ask only whether a CEST is there, so the key
    # holds that, not the CEST itself.
    problems: list[TaxProblem] = []

    def need(field: str, message: str) -> None:
        problems.append(TaxProblem(field, message))

    store = f"loja do {crt.label} (CRT {int(crt)})"
    if crt.uses_csosn and t.csosn is None:
        if t.icms_cst is not None:
            need("csosn", f"{store} informa CSOSN, não CST do ICMS: cadastre o CSOSN do produto")
        else:
            need("csosn", f"obrigatório para {store}: 102, 500...")
    elif not crt.uses_csosn and t.icms_cst is None:
        if t.csosn is not None:
            need("icms_cst", f"{store} informa CST do ICMS, não CSOSN: cadastre o CST do produto")
        else:
            need("icms_cst", f"obrigatório para {store}: 00, 60...")
    code = t.icms_code_for(crt)
    cst = None if crt.uses_csosn else t.icms_cst
    if cst in ("00", "20") and not t.icms_rate:
        need("icms_rate", f"CST {cst} exige a alíquota do ICMS (pICMS)")
    if cst == "20" and not t.icms_base_reduction:
        need("icms_base_reduction", "CST 20 exige o percentual de redução da base (pRedBC)")
    if code in ST_CODES:
        if not has_cest:
            need("cest", f"mercadoria com ICMS-ST ({code}) exige o CEST")
        for field, what in (
            ("st_base_unit", "a base do ICMS-ST retido por unidade (vBCSTRet)"),
            ("st_rate", "a alíquota suportada pelo consumidor (pST)"),
            ("st_icms_unit", "o ICMS-ST retido por unidade (vICMSSTRet)"),
        ):
            if getattr(t, field) is None:
                need(field, f"mercadoria com ICMS-ST ({code}) exige {what}, da nota de compra")
        if cfop not in ST_CFOPS:
            need("cfop", f"mercadoria com ICMS-ST ({code}) sai com CFOP 5405 (não {cfop})")
    elif code is not None and cfop in ST_CFOPS:
        need("cfop", f"CFOP {cfop} é de mercadoria com ICMS-ST: use CST 60 ou CSOSN 500 (não {code})")
    for cst_field, rate_field, name in (
        ("pis_cst", "pis_rate", "PIS"),
        ("cofins_cst", "cofins_rate", "COFINS"),
    ):
        cst = getattr(t, cst_field)
        if cst is None:
            need(cst_field, f"obrigatório: CST do {name} (49 no Simples; 01, 04, 06... no regime normal)")
        elif cst in PIS_COFINS_WITH_RATE and getattr(t, rate_field) is None:
            need(rate_field, f"CST {cst} do {name} exige a alíquota")
    if crt is Crt.NORMAL:
        if t.ibs_cbs_cst is None:
            need(
                "ibs_cbs_cst",
                "obrigatório fora do Simples desde 2026 (LC 214/2025): CST do IBS/CBS, como 000",
            )
        if t.cclass_trib is None:
            need(
                "cclass_trib", "obrigatório fora do Simples desde 2026 (LC 214/2025): cClassTrib, como 000001"
            )
    if (t.ibs_cbs_cst is None) != (t.cclass_trib is None) and crt is not Crt.NORMAL:
        missing = "cclass_trib" if t.cclass_trib is None else "ibs_cbs_cst"
        need(missing, "CST do IBS/CBS e cClassTrib vão juntos")
    if t.ibs_cbs_cst and t.cclass_trib and not t.cclass_trib.startswith(t.ibs_cbs_cst):
        need(
            "cclass_trib",
            f"cClassTrib {t.cclass_trib} não é do CST {t.ibs_cbs_cst} (começa pelos 3 dígitos do CST)",
        )
    return tuple(problems)


# -- the values of one item ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IcmsValues:
    base: Decimal  # vBC
    rate: Decimal  # pICMS
    value: Decimal  # vICMS


@dataclass(frozen=True, slots=True)
class RetainedSt:
    base: Decimal  # vBCSTRet
    rate: Decimal  # pST
    value: Decimal  # vICMSSTRet


@dataclass(frozen=True, slots=True)
class RateValues:
    base: Decimal
    rate: Decimal
    value: Decimal


def icms_values(tax: ItemTax, net: Decimal, crt: Crt) -> IcmsValues | None:
    """``vBC``/``vICMS`` of CST 00 and 20 (``modBC`` 3: the operation's value, after the
    discount; 20 reduced by ``pRedBC``); none in the Simples."""
    if crt.uses_csosn or tax.icms_cst not in ("00", "20") or tax.icms_rate is None:
        return None
    base = net
    if tax.icms_cst == "20":
        base = round_money(net * (100 - (tax.icms_base_reduction or ZERO)) / 100)
    return IcmsValues(base, tax.icms_rate, round_money(base * tax.icms_rate / 100))


def retained_st(tax: ItemTax, quantity: Decimal, crt: Crt) -> RetainedSt | None:
    """The ST retained before, for ``quantity`` units (CST 60 / CSOSN 500)."""
    if not tax.is_st_for(crt) or tax.st_base_unit is None or tax.st_icms_unit is None or tax.st_rate is None:
        return None
    return RetainedSt(
        round_money(tax.st_base_unit * quantity), tax.st_rate, round_money(tax.st_icms_unit * quantity)
    )


def contribution(cst: str | None, rate: Decimal | None, net: Decimal) -> RateValues | None:
    """PIS or COFINS by rate (CST 01/02) on the item's net value."""
    if cst not in PIS_COFINS_WITH_RATE or rate is None:
        return None
    return RateValues(net, rate, round_money(net * rate / 100))


# -- Lei 12.741 -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApproxTaxes:
    """The approximate taxes of an item or a sale (Lei 12.741/2012), in reais."""

    federal: Decimal = ZERO
    state: Decimal = ZERO
    municipal: Decimal = ZERO
    source: str | None = None

    @property
    def total(self) -> Decimal:
        return self.federal + self.state + self.municipal

    def __add__(self, other: ApproxTaxes) -> ApproxTaxes:
        return ApproxTaxes(
            self.federal + other.federal,
            self.state + other.state,
            self.municipal + other.municipal,
            self.source or other.source,
        )


def approx_taxes(tax: ItemTax | None, net: Decimal) -> ApproxTaxes | None:
    """The item's approximate taxes on its net value (``vProd`` − ``vDesc``), each rounded
    half up to the centavo; ``None`` when the item has no IBPT rates."""
    if tax is None or all(r is None for r in (tax.ibpt_federal, tax.ibpt_state, tax.ibpt_municipal)):
        return None
    return ApproxTaxes(
        round_money(net * (tax.ibpt_federal or ZERO) / 100),
        round_money(net * (tax.ibpt_state or ZERO) / 100),
        round_money(net * (tax.ibpt_municipal or ZERO) / 100),
        tax.ibpt_source,
    )


@dataclass(frozen=True, slots=True)
class IbptRates:
    """One line of the IBPT table for a UF: the rates of one NCM."""

    ncm: str
    national_federal: Decimal
    imported_federal: Decimal
    state: Decimal
    municipal: Decimal
    source: str  # "IBPT 25.2.B 5oi7eW": the version and key the DANFE cites

    def for_origin(self, origin: int) -> ItemTax:
        """The item's IBPT fields: the imported federal rate for foreign goods."""
        federal = self.imported_federal if origin in FOREIGN_ORIGINS else self.national_federal
        return ItemTax(
            ibpt_federal=federal,
            ibpt_state=self.state,
            ibpt_municipal=self.municipal,
            ibpt_source=self.source,
        )


def tax_from_mapping(data: Mapping[str, Any]) -> ItemTax:
    """An :class:`ItemTax` from loose text values (a CSV row, a config section); raises
    pydantic's ``ValidationError``."""
    return ItemTax.model_validate({k: v for k, v in data.items() if v not in (None, "")})


#: What a Simples store sells most goods with when the product says nothing: CSOSN 102
#: and PIS/COFINS 49 (the contributions are paid in the DAS). A store in the normal regime
#: has no safe default: its rates depend on its UF and products (``[taxes]`` in the config).
SIMPLES_DEFAULTS: Final = ItemTax(csosn="102", pis_cst="49", cofins_cst="49")
#: A registry that says nothing (an item without ``tax``); frozen, so one instance serves all.
EMPTY_TAX: Final = ItemTax()


def store_defaults(crt: Crt, configured: ItemTax | None = None) -> ItemTax:
    """The store's defaults: the configured ``[taxes]`` over the regime's own."""
    base = SIMPLES_DEFAULTS if crt.uses_csosn else EMPTY_TAX
    return base if configured is None else configured.merged_over(base)
