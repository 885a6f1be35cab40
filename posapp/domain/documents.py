"""CPF, CNPJ and the 44-digit chave de acesso: formats and check digits.

All validators accept formatted or bare input (``529.982.247-25`` or ``52998224725``)
and return the bare digits; a wrong length or check digit raises :class:`InvalidDocument`
with a message a cashier can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from posapp.domain.errors import InvalidDocument

_NON_DIGITS = re.compile(r"[.\-/\s]")

# IBGE codes of the 27 federal units, as the first two digits of a chave.
UF_CODES: dict[str, str] = {
    "RO": "11",
    "AC": "12",
    "AM": "13",
    "RR": "14",
    "PA": "15",
    "AP": "16",
    "TO": "17",
    "MA": "21",
    "PI": "22",
    "CE": "23",
    "RN": "24",
    "PB": "25",
    "PE": "26",
    "AL": "27",
    "SE": "28",
    "BA": "29",
    "MG": "31",
    "ES": "32",
    "RJ": "33",
    "SP": "35",
    "PR": "41",
    "SC": "42",
    "RS": "43",
    "MS": "50",
    "MT": "51",
    "GO": "52",
    "DF": "53",
}
UF_BY_CODE = {code: uf for uf, code in UF_CODES.items()}


def only_digits(text: str) -> str:
    """Strip the usual punctuation (``. - /`` and spaces); anything else stays to fail later."""
    return _NON_DIGITS.sub("", text)


def is_ascii_digits(text: str) -> bool:
    """``0``-``9`` only (``str.isdigit`` also takes ``²`` and other scripts' digits)."""
    return text.isascii() and text.isdigit()


def _mod11_digit(digits: str, weights: list[int]) -> int:
    total = sum(int(d) * w for d, w in zip(digits, weights, strict=True))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def validate_cpf(text: str) -> str:
    digits = only_digits(text)
    if not (len(digits) == 11 and is_ascii_digits(digits)):
        raise InvalidDocument(
            f"CPF {text!r} must have 11 digits",
            user_message="CPF deve ter 11 dígitos. Confira o número com o cliente.",
        )
    if digits == digits[0] * 11:
        raise InvalidDocument(f"CPF {text!r} is a repeated digit", user_message="CPF inválido.")
    first = _mod11_digit(digits[:9], list(range(10, 1, -1)))
    second = _mod11_digit(digits[:10], list(range(11, 1, -1)))
    if digits[9:] != f"{first}{second}":
        raise InvalidDocument(
            f"CPF {text!r} has wrong check digits",
            user_message="CPF inválido: dígito verificador não confere. Confira o número com o cliente.",
        )
    return digits


_CNPJ_W1 = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2]
_CNPJ_W2 = [6, *_CNPJ_W1]


def validate_cnpj(text: str) -> str:
    digits = only_digits(text)
    if not (len(digits) == 14 and is_ascii_digits(digits)):
        raise InvalidDocument(
            f"CNPJ {text!r} must have 14 digits",
            user_message="CNPJ deve ter 14 dígitos. Confira o número com o cliente.",
        )
    if digits == digits[0] * 14:
        raise InvalidDocument(f"CNPJ {text!r} is a repeated digit", user_message="CNPJ inválido.")
    first = _mod11_digit(digits[:12], _CNPJ_W1)
    second = _mod11_digit(digits[:13], _CNPJ_W2)
    if digits[12:] != f"{first}{second}":
        raise InvalidDocument(
            f"CNPJ {text!r} has wrong check digits",
            user_message="CNPJ inválido: dígito verificador não confere. Confira o número com o cliente.",
        )
    return digits


def validate_cpf_or_cnpj(text: str) -> str:
    """A consumer document: 11 digits are a CPF, 14 a CNPJ.

    A document with letters (or other symbols) is answered as such, whatever its length,
    not as "a CNPJ without its 14 digits". The alphanumeric CNPJ (July 2026) is not
    accepted here yet."""
    digits = only_digits(text)
    if digits and not is_ascii_digits(digits):
        raise InvalidDocument(
            f"document {text!r} has characters other than digits",
            user_message=(
                "Documento do consumidor com letras ou símbolos: CPF deve ter 11 dígitos; "
                "CNPJ 14 caracteres. Confira o número com o cliente."
            ),
        )
    if len(digits) == 11:
        return validate_cpf(digits)
    if len(digits) == 14:
        return validate_cnpj(digits)
    raise InvalidDocument(
        f"document {text!r} is neither a CPF (11 digits) nor a CNPJ (14)",
        user_message=(
            f"Documento do consumidor: CPF deve ter 11 dígitos; CNPJ 14 caracteres (este tem {len(digits)})."
        ),
    )


def format_cpf_cnpj(digits: str) -> str:
    if len(digits) == 11:
        return f"{digits[:3]}.{digits[3:6]}.{digits[6:9]}-{digits[9:]}"
    if len(digits) == 14:
        return f"{digits[:2]}.{digits[2:5]}.{digits[5:8]}/{digits[8:12]}-{digits[12:]}"
    return digits


def mask_cpf_cnpj(digits: str) -> str:
    """For logs: keep only what identifies the document to a human (``***.982.247-**``)."""
    if len(digits) == 11:
        return f"***.{digits[3:6]}.{digits[6:9]}-**"
    if len(digits) == 14:
        return f"{digits[:2]}.{digits[2:5]}.***/****-**"
    return "***"


def chave_check_digit(first43: str) -> int:
    """Mod-11 check digit of a chave de acesso (weights 2..9 from the right)."""
    weights = [2, 3, 4, 5, 6, 7, 8, 9]
    total = sum(int(d) * weights[i % 8] for i, d in enumerate(reversed(first43)))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


@dataclass(frozen=True, slots=True)
class ChaveAcesso:
    """The parts of a validated 44-digit chave de acesso."""

    digits: str

    @property
    def uf_code(self) -> str:
        return self.digits[0:2]

    @property
    def uf(self) -> str:
        return UF_BY_CODE.get(self.uf_code, "??")

    @property
    def year_month(self) -> str:
        """``AAMM`` of the emission."""
        return self.digits[2:6]

    @property
    def cnpj(self) -> str:
        return self.digits[6:20]

    @property
    def model(self) -> str:
        return self.digits[20:22]

    @property
    def series(self) -> int:
        return int(self.digits[22:25])

    @property
    def number(self) -> int:
        return int(self.digits[25:34])

    @property
    def emission_type(self) -> int:
        """``tpEmis``: 1 normal, 9 offline contingency."""
        return int(self.digits[34])

    @property
    def code(self) -> str:
        """``cNF``, the 8-digit random code."""
        return self.digits[35:43]

    @property
    def check_digit(self) -> int:
        return int(self.digits[43])

    def grouped(self) -> str:
        """The key in groups of four, as the DANFE prints it."""
        return " ".join(self.digits[i : i + 4] for i in range(0, 44, 4))

    def __str__(self) -> str:
        return self.digits


def parse_chave(text: str) -> ChaveAcesso:
    digits = re.sub(r"\s", "", text)
    if digits.upper().startswith("NFE"):
        digits = digits[3:]
    if not (len(digits) == 44 and is_ascii_digits(digits)):
        raise InvalidDocument(
            f"chave {text!r} must have 44 digits",
            user_message="Chave de acesso deve ter 44 dígitos.",
        )
    if chave_check_digit(digits[:43]) != int(digits[43]):
        raise InvalidDocument(
            f"chave {text!r} has a wrong check digit",
            user_message="Chave de acesso inválida: dígito verificador não confere.",
        )
    return ChaveAcesso(digits)


def build_chave(
    *,
    uf: str,
    year_month: str,
    cnpj: str,
    model: str = "65",
    series: int,
    number: int,
    emission_type: int = 1,
    code: str,
) -> ChaveAcesso:
    """Compose a chave from its parts and append the check digit."""
    first43 = f"{UF_CODES[uf]}{year_month}{cnpj}{model}{series:03d}{number:09d}{emission_type}{code:0>8}"
    if len(first43) != 43 or not is_ascii_digits(first43):
        raise InvalidDocument(f"parts do not make a chave: {first43!r}")
    return ChaveAcesso(first43 + str(chave_check_digit(first43)))
