"""SALE.json, from its bytes to a :class:`~posapp.domain.sale.Sale`: the one reader.

Pure (bytes in, a sale or :class:`~posapp.domain.errors.InvalidSale` out); the caller reads
the file, at most :data:`MAX_SALE_FILE_BYTES` + 1 bytes of it, so a huge file or a device
is never read whole. Before anything is parsed the bytes are bounded: size, UTF-8 (a
UTF-8 BOM is allowed), nesting depth (scanned without recursion, so ``[[[[…`` cannot
exhaust the stack). While parsing, every JSON number becomes an exact :class:`Decimal`
(or ``int``) only if its text is short and its exponent small (``1e999999`` is refused
without ever being expanded), ``NaN``/``Infinity`` are refused, and an object with the same
key twice is refused (JSON's "last one wins" would hide a typo such as two ``quantity``).
Then :meth:`Sale.from_mapping` applies the sale's rules: every way into a sale (this file,
the GUI's cart) meets the same validator.

Every error is one :class:`InvalidSale` whose ``user_message`` is Portuguese and names the
place (``itens[1].quantidade: …``), as the sale's own errors do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from posapp.domain.errors import InvalidSale
from posapp.domain.money import MAX_NUMBER_CHARS
from posapp.domain.sale import Sale, field_path

#: A sale of 990 items with long descriptions is well under this; a bigger file is refused
#: before it is decoded or parsed.
MAX_SALE_FILE_BYTES: Final = 1_048_576
#: SALE.json nests four levels (sale > payments > payment > card); room for a little more.
MAX_DEPTH: Final = 8
#: ``|exponent|`` bound of a parsed number: the layout needs 13 integer digits, 10 decimals.
MAX_EXPONENT: Final = 40

_BOM: Final = b"\xef\xbb\xbf"
_OPENERS: Final = frozenset(b"[{")
_CLOSERS: Final = frozenset(b"]}")
_KEEP: Final = b'[]{}"\\'
_DROP_ALL_BUT_STRUCTURE: Final = bytes(b for b in range(256) if b not in _KEEP)


class _Refused:
    """A value the parser refused, kept in place so the error can name where it was."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _Object(dict[str, Any]):
    """A JSON object that remembers a key it saw twice."""

    __slots__ = ("duplicate",)

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.duplicate: str | None = None
        for key, value in pairs:
            if key in self and self.duplicate is None:
                self.duplicate = key
            self[key] = value


def _invalid(detail: str, message: str) -> InvalidSale:
    return InvalidSale(f"SALE.json refused: {detail}", user_message=message)


def read_sale_json(data: bytes) -> dict[str, Any]:
    """SALE.json's bytes -> its top-level object, bounded and exact (see the module
    docstring). Raises :class:`InvalidSale` in Portuguese."""
    if len(data) > MAX_SALE_FILE_BYTES:
        raise _invalid(
            f"more than {MAX_SALE_FILE_BYTES} bytes",
            f"SALE.json: arquivo grande demais (mais de {MAX_SALE_FILE_BYTES // 1_048_576} MB); "
            "uma venda cabe em bem menos. Confira se é o arquivo certo.",
        )
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise _invalid("UTF-16", "SALE.json: o arquivo está em UTF-16; salve-o em UTF-8.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _invalid(
            f"not UTF-8 at byte {exc.start}",
            f"SALE.json: o arquivo deve estar em UTF-8; o byte {exc.start + 1} (linha {line}) não é UTF-8 "
            "(arquivo salvo em Latin-1 ou Windows-1252?).",
        ) from None
    if not text.strip():
        raise _invalid("empty", "SALE.json: o arquivo está vazio.")
    _check_depth(data)
    try:
        value = json.loads(
            text,
            object_pairs_hook=_Object,
            parse_float=_parse_decimal,
            parse_int=_parse_int,
            parse_constant=_parse_constant,
        )
    except json.JSONDecodeError as exc:
        raise _invalid(
            f"JSON syntax at line {exc.lineno} column {exc.colno}",
            f"SALE.json: JSON inválido na linha {exc.lineno}, coluna {exc.colno}.",
        ) from None
    except RecursionError:  # the depth scan makes this unreachable; never let it escape anyway
        raise _invalid("nesting", _DEPTH_MESSAGE) from None
    if not isinstance(value, dict):
        raise _invalid("top level is not an object", "SALE.json deve ser um objeto JSON ({...}).")
    for loc, problem in _problems(value, ()):
        raise _invalid(f"{problem} at {loc}", f"{field_path(loc)}: {problem}")
    return {key: _plain(item) for key, item in value.items()}


def sale_from_json_bytes(data: bytes, *, sale_id: str | None = None) -> Sale:
    """SALE.json's bytes -> a validated :class:`Sale` (or :class:`InvalidSale`)."""
    return Sale.from_mapping(read_sale_json(data), sale_id=sale_id)


_DEPTH_MESSAGE: Final = f"SALE.json: aninhamento profundo demais (mais de {MAX_DEPTH} níveis de [ ] e {{ }})."


def _check_depth(data: bytes) -> None:
    """Refuse nesting deeper than :data:`MAX_DEPTH`, outside strings, in one linear pass
    over the structural bytes only (brackets, quotes, backslashes)."""
    depth = 0
    in_string = False
    escaped = False
    for byte in data.translate(None, _DROP_ALL_BUT_STRUCTURE):
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            if depth > MAX_DEPTH:
                raise _invalid(f"nesting deeper than {MAX_DEPTH}", _DEPTH_MESSAGE)
        elif byte in _CLOSERS:
            depth -= 1


def _parse_decimal(text: str) -> Decimal | _Refused:
    if len(text) > MAX_NUMBER_CHARS:
        return _Refused("número longo demais")
    try:
        number = Decimal(text)
    except InvalidOperation:  # the JSON grammar already matched it; be safe anyway
        return _Refused("não é um número")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and abs(number.adjusted()) <= MAX_EXPONENT and abs(exponent) <= MAX_EXPONENT:
        return number
    return _Refused("número fora do limite (expoente grande demais)")


def _parse_int(text: str) -> int | _Refused:
    if len(text) > MAX_NUMBER_CHARS:
        return _Refused("número longo demais")
    return int(text)


def _parse_constant(name: str) -> _Refused:
    return _Refused(f"{name} não é um número aceito")


def _problems(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Where the parsed tree holds something refused (depth is already bounded)."""
    if isinstance(value, _Refused):
        yield loc, value.reason
    elif isinstance(value, str):
        if not _encodable(value):
            yield loc, "texto com caractere inválido (um \\u sem par, fora do Unicode)"
    elif isinstance(value, _Object):
        if value.duplicate is not None:
            key = value.duplicate
            yield (*loc, key), "campo repetido no mesmo objeto (cada campo só pode aparecer uma vez)"
        for key, item in value.items():
            if not _encodable(key):
                yield loc, "nome de campo com caractere inválido"
            yield from _problems(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _problems(item, (*loc, index))


def _encodable(text: str) -> bool:
    """No lone surrogate (``"\\ud800"``): such a text cannot be stored or sent."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _plain(value: Any) -> Any:
    """The tree with plain dicts (the sale's validator sees ordinary JSON data)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
