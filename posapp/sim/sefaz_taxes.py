"""The tax rules a strict SEFAZ (and the provider in front of it) applies to an NFC-e's
items, shared by the Focus NFe and Integra Notas simulators.

Each simulator reads its own JSON dialect into :class:`TaxedItem`; this module knows
nothing of posapp's tax model (it must catch posapp's mistakes, not repeat them):

* a CST from a Simples emitter (CRT 1/4): **590**; a CSOSN from one outside it (CRT 2/3): **591**;
* goods under substitution (CST 60, CSOSN 500) without CEST: **806**;
* CST 00/20 whose ``vICMS`` is not ``vBC`` × ``pICMS`` (one centavo of tolerance): **528**;
* what the provider refuses before SEFAZ sees the note (its own validation): an ICMS or
  PIS/COFINS code missing or unknown, CST 00/20 without base/rate/value, CST 60/CSOSN 500
  without the retained ST values (``vBCSTRet``, ``pST``, ``vICMSSTRet``), CST 01/02 of
  PIS/COFINS without rate, an IBS/CBS CST without ``cClassTrib`` or whose ``cClassTrib`` is
  not of that CST.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CSOSN_CODES = frozenset({"101", "102", "103", "201", "202", "203", "300", "400", "500", "900"})
CST_CODES = frozenset({"00", "10", "20", "30", "40", "41", "50", "51", "60", "70", "90"})
ST_CODES = frozenset({"10", "30", "60", "70", "201", "202", "203", "500", "900"})
RETAINED_ST = frozenset({"60", "500"})
PIS_COFINS = frozenset(
    {"01", "02", "03", "04", "05", "06", "07", "08", "09", *(str(n) for n in range(49, 100))}
)


@dataclass(frozen=True, slots=True)
class TaxedItem:
    """One item's tax fields as the request carried them (text, or ``None`` when absent)."""

    icms_code: str | None
    cest: str | None = None
    vbc: str | None = None
    picms: str | None = None
    vicms: str | None = None
    vbcstret: str | None = None
    pst: str | None = None
    vicmsstret: str | None = None
    pis_cst: str | None = None
    ppis: str | None = None
    cofins_cst: str | None = None
    pcofins: str | None = None
    ibs_cbs_cst: str | None = None
    cclass_trib: str | None = None


def _number(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(str(text))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def text_of(value: object) -> str | None:
    """A JSON scalar as text; ``None`` for absent, null or empty."""
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = str(value).strip()
    return text or None


def provider_problems(items: list[TaxedItem]) -> list[str]:
    """The provider's own validation of the items' taxes (before SEFAZ)."""
    problems: list[str] = []
    for n, item in enumerate(items, start=1):
        code = item.icms_code
        if code is None:
            problems.append(f"item {n}: situação tributária do ICMS não informada")
        elif code not in CSOSN_CODES | CST_CODES:
            problems.append(f"item {n}: situação tributária do ICMS {code} inválida")
        if code in ("00", "20"):
            for value, name in (
                (item.vbc, "base de cálculo"),
                (item.picms, "alíquota"),
                (item.vicms, "valor"),
            ):
                if _number(value) is None:
                    problems.append(f"item {n}: ICMS {code} sem {name}")
        if code in RETAINED_ST:
            for value, name in (
                (item.vbcstret, "vBCSTRet"),
                (item.pst, "pST"),
                (item.vicmsstret, "vICMSSTRet"),
            ):
                if _number(value) is None:
                    problems.append(f"item {n}: ICMS {code} (ST retido anteriormente) sem {name}")
        for cst, rate, name in ((item.pis_cst, item.ppis, "PIS"), (item.cofins_cst, item.pcofins, "COFINS")):
            if cst is None or cst not in PIS_COFINS:
                problems.append(
                    f"item {n}: situação tributária do {name} {'inválida' if cst else 'não informada'}"
                )
            elif cst in ("01", "02") and _number(rate) is None:
                problems.append(f"item {n}: {name} {cst} sem alíquota")
        if (item.ibs_cbs_cst is None) != (item.cclass_trib is None):
            problems.append(f"item {n}: IBS/CBS exige CST e cClassTrib juntos")
        elif item.ibs_cbs_cst and item.cclass_trib and not item.cclass_trib.startswith(item.ibs_cbs_cst):
            problems.append(f"item {n}: cClassTrib {item.cclass_trib} não pertence ao CST {item.ibs_cbs_cst}")
    return problems


def sefaz_rejection(crt: int, items: list[TaxedItem]) -> tuple[str, str] | None:
    """SEFAZ's answer to the first item that breaks a rule: ``(cStat, xMotivo)``."""
    simples = crt in (1, 4)
    for n, item in enumerate(items, start=1):
        code = item.icms_code or ""
        if simples and code in CST_CODES:
            return "590", f"Rejeição: Informado CST para emissor do Simples Nacional (CRT=1) [nItem:{n}]"
        if not simples and code in CSOSN_CODES:
            return (
                "591",
                "Rejeição: Informado CSOSN para emissor que não é do Simples Nacional "
                f"(CRT diferente de 1) [nItem:{n}]",
            )
        if code in ST_CODES and not item.cest:
            return "806", f"Rejeição: Operação com ICMS-ST sem informação do CEST [nItem:{n}]"
        if code in ("00", "20"):
            base, rate, value = _number(item.vbc), _number(item.picms), _number(item.vicms)
            if base is not None and rate is not None and value is not None:
                expected = (base * rate / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
                if abs(expected - value) > Decimal("0.01"):
                    return "528", f"Rejeição: Valor do ICMS difere do produto BC e Alíquota [nItem:{n}]"
    return None
