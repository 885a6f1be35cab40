"""The emitter profile: the few emitter-level values a CREATE_NFCE request carries.

The protocol package does not read the application's configuration; the composition edge
builds one :class:`EmitterProfile` from it (:func:`posapp.config.emitter_profile`) and the
request builder (:func:`posapp.protocol.messages.build_create_nfce`) reads only this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from posapp.protocol.text import TEXT_POLICIES, TextPolicy

Environment = Literal["homologacao", "producao"]
Aplicacao = Literal["I", "C", "U", "A"]

_CODIGO_NATUREZA: Final = re.compile(r"[0-9]{3}")


@dataclass(frozen=True, slots=True)
class EmitterProfile:
    """What the Emites request needs to know about the emitter and its set-up.

    ``environment`` decides the homologação substitutions (first item's description and
    consumer's name, see :mod:`posapp.protocol.messages`); ``text_policy`` how text is
    cleaned before it goes on the wire. The rest are schema fields sent as they are:
    ``aplicacao`` (I industrialização, C comercialização, U uso e consumo, A ativo
    imobilizado) and ``fabricacao`` (0 própria, 1 terceiros) go on every product.
    """

    environment: Environment
    text_policy: TextPolicy
    engine_de_calculo: str
    natureza_operacao: str
    codigo_natureza_operacao: str
    aplicacao: Aplicacao
    fabricacao: Literal[0, 1]
    indicador_presenca: int
    tipo_impressao: int
    informacoes_contribuinte: str | None = None

    def __post_init__(self) -> None:
        if self.environment not in ("homologacao", "producao"):
            raise ValueError(f"environment must be 'homologacao' or 'producao', not {self.environment!r}")
        if self.text_policy not in TEXT_POLICIES:
            raise ValueError(f"text_policy must be one of {TEXT_POLICIES}, not {self.text_policy!r}")
        if not _CODIGO_NATUREZA.fullmatch(self.codigo_natureza_operacao):
            raise ValueError(
                f"codigo_natureza_operacao must be 3 digits, not {self.codigo_natureza_operacao!r}"
            )
        if self.aplicacao not in ("I", "C", "U", "A"):
            raise ValueError(f"aplicacao must be I, C, U or A, not {self.aplicacao!r}")
        if self.fabricacao not in (0, 1):
            raise ValueError(f"fabricacao must be 0 or 1, not {self.fabricacao!r}")

    @property
    def homologacao(self) -> bool:
        return self.environment == "homologacao"
