"""The three issuers of a till, simulated on loopback, and what they have issued.

:class:`Issuers` starts an Emites-Client simulator (in its own loop thread), a Focus NFe
simulator and an Integra Notas simulator (HTTP servers in threads), each with an
:class:`~tests.support.trap.AnswerTrap`, and writes the configuration a till would use to
reach them: Emites-Client first, then Focus, then Integra, tokens from environment
variables (as in production; never in the file). Any of them can be taken down (its port
refuses connections) and brought back on the same port.

:meth:`Issuers.notes_by_sale` is the oracle of the second promise: it reads the simulators'
own records, not the journal, and maps every note they issued to the sale it belongs to
(through the sale's marker product code, see :mod:`tests.support.sales`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from posapp.config import Config
from tests.support.emites_thread import EmitesInThread
from tests.support.sales import index_of_code
from tests.support.trap import AnswerTrap, TrappedFocus, TrappedIntegra, trap_engine

FOCUS_TOKEN_ENV = "POSAPP_TEST_FOCUS_TOKEN"
INTEGRA_TOKEN_ENV = "POSAPP_TEST_INTEGRA_TOKEN"
FOCUS_TOKEN = "focus-e2e-token-0123456789"
INTEGRA_TOKEN = "integra-e2e-token-0123456789"
_PDV_REF = re.compile(r"PDV-REF:([0-9A-Za-z_-]+)")


@dataclass(frozen=True)
class IssuedRecord:
    """One note an issuer issued, as that issuer recorded it."""

    issuer: str
    chave: str
    sale_index: int | None  # from the marker product code
    reference: str | None  # Focus ref / Emites PDV-REF, when the issuer keeps one


class Issuers:
    def __init__(self, *, trap: AnswerTrap | None = None) -> None:
        self.trap = trap if trap is not None else AnswerTrap()
        self.emites = EmitesInThread()
        trap_engine(self.emites.simulator.engine, self.trap)
        # Rate limits off on the simulators' side: the crash test runs many processes
        # within a minute and each client keeps its own budget. 429 has its own test.
        self.focus = TrappedFocus(self.trap, token=FOCUS_TOKEN, rate_limit_per_minute=1_000_000)
        self.integra = TrappedIntegra(self.trap, token=INTEGRA_TOKEN, enforce_rate_limits=False)
        self.emites.start()
        self.focus.start()
        self.integra.start()
        self._http_up = {self.focus.name, self.integra.name}

    # -- availability ------------------------------------------------------------------

    def set_up(self, *, emites: bool, focus: bool, integra: bool) -> None:
        """Take issuers down (connections refused) or bring them back on their ports."""
        if emites and not self.emites.up:
            self.emites.start()
        elif not emites:
            self.emites.stop()
        for sim, wanted in ((self.focus, focus), (self.integra, integra)):
            if wanted and sim.name not in self._http_up:
                sim.start(port=sim.port)
                self._http_up.add(sim.name)
            elif not wanted and sim.name in self._http_up:
                sim.stop()
                self._http_up.discard(sim.name)

    def close(self) -> None:
        self.trap.release()
        self.focus.stop()
        self.integra.stop()
        self.emites.close()

    # -- configuration -----------------------------------------------------------------

    def config_data(
        self,
        *,
        providers: tuple[str, ...] = ("focusnfe", "integranotas"),
        emites: bool = True,
        response_timeout_s: float = 10,
        provider_timeout_s: float = 10,
        printer_uri: str = "none",
    ) -> dict[str, Any]:
        urls = {"focusnfe": self.focus.url, "integranotas": self.integra.url}
        envs = {"focusnfe": FOCUS_TOKEN_ENV, "integranotas": INTEGRA_TOKEN_ENV}
        return {
            "emites": {
                "enabled": emites,
                "host": "127.0.0.1",
                "port": self.emites.port,
                "connect_timeout_s": 2,
                "response_timeout_s": response_timeout_s,
            },
            "printer": {"uri": printer_uri},
            "providers": [
                {
                    "name": name,
                    "base_url": urls[name],
                    "timeout_s": provider_timeout_s,
                    "token_env": envs[name],
                }
                for name in providers
            ],
        }

    def config(self, **kwargs: Any) -> Config:
        return Config.model_validate(self.config_data(**kwargs))

    def config_toml(self, **kwargs: Any) -> str:
        return to_toml(self.config_data(**kwargs))

    @staticmethod
    def token_env() -> dict[str, str]:
        return {FOCUS_TOKEN_ENV: FOCUS_TOKEN, INTEGRA_TOKEN_ENV: INTEGRA_TOKEN}

    # -- the oracle --------------------------------------------------------------------

    def issued(self) -> list[IssuedRecord]:
        """Every note every issuer issued (authorized, contingency, cancelled...)."""
        records = []
        for note in self.emites.notes():
            match = _PDV_REF.search(note.note.inf_cpl or "")
            records.append(
                IssuedRecord(
                    "emites",
                    note.note.chave,
                    _marked(i.code for i in note.note.items),
                    match and match.group(1),
                )
            )
        for focus_note in self.focus.issued():
            assert focus_note.note is not None
            records.append(
                IssuedRecord(
                    "focusnfe",
                    focus_note.note.chave,
                    _marked(i.code for i in focus_note.note.items),
                    focus_note.ref,
                )
            )
        with self.integra.lock:
            documents = list(self.integra.documents.values())
        for document in documents:
            records.append(
                IssuedRecord(
                    "integranotas", document.note.chave, _marked(i.code for i in document.note.items), None
                )
            )
        return records

    def notes_by_sale(self) -> dict[int, list[IssuedRecord]]:
        by_sale: dict[int, list[IssuedRecord]] = {}
        for record in self.issued():
            assert record.sale_index is not None, f"a note without a marked sale: {record}"
            by_sale.setdefault(record.sale_index, []).append(record)
        return by_sale

    def issue_posts(self) -> dict[str, int]:
        """How many issue requests each issuer received."""
        return {
            "emites": sum(1 for r in self.emites.requests() if r.identifier == "CREATE_NFCE"),
            "focusnfe": len(self.focus.requests_to("POST", "/v2/nfce")),
            "integranotas": len(self.integra.requests_to("POST", "/v1/nfce")),
        }


def _marked(codes: Iterator[str] | Any) -> int | None:
    for code in codes:
        index = index_of_code(str(code))
        if index is not None:
            return index
    return None


def to_toml(data: Mapping[str, Any]) -> str:
    """The small subset of TOML our configuration needs (tables, arrays of tables, scalars)."""
    lines: list[str] = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines.append(f"[{key}]")
            lines.extend(f"{k} = {_scalar(v)}" for k, v in value.items())
        elif isinstance(value, list):
            for entry in value:
                lines.append(f"[[{key}]]")
                lines.extend(f"{k} = {_scalar(v)}" for k, v in entry.items())
        else:
            lines.insert(0, f"{key} = {_scalar(value)}")
        lines.append("")
    return "\n".join(lines)


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
