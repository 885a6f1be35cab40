"""A lying issuer: the note a simulator claims to have issued instead of the one it issued.

The ``lying_chave`` knob of every simulator takes one of :data:`LIE_MODES`. The simulator
issues the real note (that is what its ground truth records) and *tells* another one, in the
issue answer and in every later answer about that note (query, search, files, cancel):

``other_cnpj``       the chave (and XML) of another emitter's CNPJ
``other_uf``         the chave (and XML) of another UF
``model_55``         a model 55 (NF-e) chave and XML instead of an NFC-e
``other_serie``      another série than the one issued (for Integra: than the one requested)
``other_numero``     another número (for Integra: than the one reserved)
``bad_check_digit``  the real chave with a wrong check digit; no XML can carry it, so the real
                     XML goes with it

Every lie but the last is self-consistent: chave, número/série fields and XML agree with each
other, so only a comparison with the sale and the store can catch it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from posapp.domain.documents import parse_chave
from posapp.sim.errors import SimulatorError
from posapp.sim.nfce_xml import SimEmitter, make_chave

LIE_MODES = ("other_cnpj", "other_uf", "model_55", "other_serie", "other_numero", "bad_check_digit")
# Two valid CNPJs: the lie takes whichever is not the emitter's own.
_OTHER_CNPJS = ("11222333000181", "45723174000110")


@dataclass(frozen=True, slots=True)
class Lie:
    """What the answers say about a note instead of the truth."""

    mode: str
    chave: str
    emitter: SimEmitter
    model: str
    serie: int
    numero: int
    consistent: bool  # False: no document can carry this chave (bad check digit)


def check_lie_mode(mode: str | None) -> None:
    if mode is not None and mode not in LIE_MODES:
        raise SimulatorError(f"unknown lie {mode!r}; one of {', '.join(LIE_MODES)}")


def lie_about(
    mode: str,
    *,
    chave: str,
    emitter: SimEmitter,
    serie: int,
    numero: int,
    emitted_at: datetime,
    tp_emis: int,
) -> Lie:
    """The lie ``mode`` tells about the note ``chave`` (issued by ``emitter`` as
    ``serie``/``numero`` at ``emitted_at``); the random code of the chave is kept."""
    check_lie_mode(mode)
    if mode == "bad_check_digit":
        wrong = (int(chave[-1]) + 1) % 10
        return Lie(mode, chave[:-1] + str(wrong), emitter, "65", serie, numero, consistent=False)
    model = "65"
    if mode == "other_cnpj":
        emitter = replace(emitter, cnpj=next(c for c in _OTHER_CNPJS if c != emitter.cnpj))
    elif mode == "other_uf":
        emitter = replace(emitter, uf="SP" if emitter.uf != "SP" else "RJ")
    elif mode == "model_55":
        model = "55"
    elif mode == "other_serie":
        serie = serie + 1 if serie < 999 else serie - 1
    else:  # other_numero
        numero = numero + 1000 if numero <= 999_998_999 else numero - 1000
    told = make_chave(
        emitter=emitter,
        serie=serie,
        numero=numero,
        emitted_at=emitted_at,
        code=parse_chave(chave).code,
        tp_emis=tp_emis,
        model=model,
    )
    return Lie(mode, told, emitter, model, serie, numero, consistent=True)
