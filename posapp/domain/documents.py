"""CPF, CNPJ and the 44-character chave de acesso: formats and check digits.

All validators accept formatted or bare input (``529.982.247-25`` or ``52998224725``)
and return the bare characters; a wrong length or check digit raises :class:`InvalidDocument`
with a message a cashier can act on. The CPF, the CNPJ (the alphanumeric one of IN RFB
2.229/2024 too: ``12.ABC.345/01DE-35``) and the chave share one check-digit rule, mod 11 with
each character worth its ASCII code minus 48 (:func:`mod11_check_digit`); the tests hold it
against python-stdnum's, digit for digit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from posapp.domain.errors import InvalidDocument

_NON_DIGITS = re.compile(r"[.\-/\s]")
_CNPJ_SHAPE = re.compile(r"[0-9A-Z]{12}[0-9]{2}")
#: A chave: cUF, AAMM, the emitter's CNPJ (alphanumeric since July 2026), then digits.
_CHAVE_SHAPE = re.compile(r"[0-9]{6}[0-9A-Z]{12}[0-9]{26}")

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


def mod11_check_digit(body: str, *, max_weight: int) -> int:
    """The Receita's mod-11 check digit of ``body``: weights 2, 3, … from the rightmost
    character, starting over at 2 after ``max_weight``; a character is worth its ASCII code
    minus 48 (``A`` = 17, for the alphanumeric CNPJ); a rest of 0 or 1 gives 0.

    The CPF's two digits use ``max_weight=11`` (weights never start over on its 9 and 10
    characters); the CNPJ's and the chave's use 9."""
    span = max_weight - 1
    total = sum((ord(c) - 48) * (2 + i % span) for i, c in enumerate(reversed(body)))
    rest = total % 11
    return 0 if rest < 2 else 11 - rest


def _check_digits_match(digits: str, *, max_weight: int) -> bool:
    """The last two characters are the check digits of what precedes them."""
    first = mod11_check_digit(digits[:-2], max_weight=max_weight)
    second = mod11_check_digit(digits[:-2] + str(first), max_weight=max_weight)
    return digits[-2:] == f"{first}{second}"


def validate_cpf(text: str) -> str:
    digits = only_digits(text)
    if not (len(digits) == 11 and is_ascii_digits(digits)):
        raise InvalidDocument(
            f"CPF {text!r} must have 11 digits",
            user_message="CPF deve ter 11 dígitos. Confira o número com o cliente.",
        )
    if digits == digits[0] * 11:
        raise InvalidDocument(f"CPF {text!r} is a repeated digit", user_message="CPF inválido.")
    if not _check_digits_match(digits, max_weight=11):
        raise InvalidDocument(
            f"CPF {text!r} has wrong check digits",
            user_message="CPF inválido: dígito verificador não confere. Confira o número com o cliente.",
        )
    return digits


def is_cnpj_shape(text: str) -> bool:
    """12 letters or digits then 2 digits: the numeric CNPJ and the alphanumeric one (IN RFB
    2.229/2024, issued from July 2026), letters upper case."""
    return bool(_CNPJ_SHAPE.fullmatch(text))


def validate_cnpj(text: str) -> str:
    """A CNPJ, numeric (``11.222.333/0001-81``) or alphanumeric (``12.ABC.345/01DE-35``);
    returns its 14 characters, letters in upper case. The check digits are mod 11 over each
    character's ASCII code minus 48, the same for both forms."""
    digits = only_digits(text).upper()
    if not is_cnpj_shape(digits):
        raise InvalidDocument(
            f"CNPJ {text!r} must have 14 characters (12 letters or digits, 2 check digits)",
            user_message=(
                "CNPJ deve ter 14 caracteres: 12 letras ou dígitos e 2 dígitos verificadores. "
                "Confira o número com o cliente."
            ),
        )
    if digits == digits[0] * 14:
        raise InvalidDocument(f"CNPJ {text!r} is a repeated digit", user_message="CNPJ inválido.")
    if not _check_digits_match(digits, max_weight=9):
        raise InvalidDocument(
            f"CNPJ {text!r} has wrong check digits",
            user_message="CNPJ inválido: dígito verificador não confere. Confira o número com o cliente.",
        )
    return digits


def validate_cpf_or_cnpj(text: str) -> str:
    """A consumer document: 11 digits are a CPF, 14 characters a CNPJ (numeric or, since
    July 2026, alphanumeric: 12 letters or digits and 2 check digits)."""
    digits = only_digits(text).upper()
    if is_cnpj_shape(digits):
        return validate_cnpj(digits)
    if digits and not is_ascii_digits(digits):
        raise InvalidDocument(
            f"document {text!r} has characters other than digits",
            user_message=(
                "Documento do consumidor com letras ou símbolos: CPF deve ter 11 dígitos; "
                "CNPJ 14 caracteres (12 letras ou dígitos e 2 dígitos verificadores). "
                "Confira o número com o cliente."
            ),
        )
    if len(digits) == 11:
        return validate_cpf(digits)
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
    """Mod-11 check digit of a chave de acesso (weights 2..9 from the right); a letter of an
    alphanumeric CNPJ is worth its ASCII code minus 48 (``A`` = 17), as for the CNPJ itself."""
    return mod11_check_digit(first43, max_weight=9)


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


def is_chave_shape(text: str) -> bool:
    """44 characters, digits except the emitter's CNPJ (positions 7-20), which may carry
    upper-case letters (the alphanumeric CNPJ)."""
    return bool(_CHAVE_SHAPE.fullmatch(text))


def parse_chave(text: str) -> ChaveAcesso:
    digits = re.sub(r"\s", "", text)
    if digits.upper().startswith("NFE"):
        digits = digits[3:]
    if not is_chave_shape(digits):
        raise InvalidDocument(
            f"chave {text!r} must have 44 characters",
            user_message=(
                "Chave de acesso deve ter 44 dígitos (o CNPJ do emitente, posições 7 a 20, pode ter "
                "letras maiúsculas)."
            ),
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
    if len(first43) != 43 or not is_chave_shape(first43 + "0"):
        raise InvalidDocument(f"parts do not make a chave: {first43!r}")
    return ChaveAcesso(first43 + str(chave_check_digit(first43)))
