"""The soak: many sales through real till processes, killed at random, against issuers that
fail in every way we know, then checked against what the issuers really issued.

``benchmarks/soak.py`` runs it from the command line (10,000 sales by default) and
``tests/services/test_soak_short.py`` runs a few hundred in CI; both call :func:`run_soak`.

**The world.** The three simulators of :class:`~tests.support.issuers.Issuers` (Emites-Client
over TCP, Focus NFe and Integra Notas over HTTP, all on 127.0.0.1) run in this process. The
tills are real ``posapp`` processes (:mod:`tests.support.soak_worker`: ``build_service`` from a
configuration file, ``start()`` with its start-up recovery, then the use cases) sharing one
data folder, as a till's GUI and a ``posapp nfce`` command do.

**What is random** (drawn from ``--seed``; the processes' timing is not, so two runs with
one seed differ in detail):

* *Rounds.* Each round starts a till process (alone on the folder, so it recovers what the
  last round left ISSUING) and, most rounds, a second process that drains the queue every
  second or so (reconcile, then send) while the till sells. A round ends when a process dies
  or after a random number of sales; the survivor then exits cleanly or is killed too.
* *Kills* (``kill -9``): a process may be started with ``POSAPP_CRASH_AT=<point>:<n>``
  (``after_journal``, ``after_answer``, ``before_print``: it SIGKILLs itself at the n-th
  pass, in an issue or in a drain), and any command (issue, drain, cancel) may be followed by
  a SIGKILL from here after a random few milliseconds. Each kill is counted by point and by
  what the process was doing.
* *Faults*, switched on and off about every second and a half on every issuer independently,
  whatever the tills are doing (:data:`EMITES_FAULTS`, :data:`HTTP_FAULTS`): down (connections
  refused), hang, slow, the answer dropped after the request was processed, garbage (HTML,
  truncated, numbers of a million digits), 5xx unprocessed and 5xx after issuing,
  ``erro``/``processando`` after issuing, 401/403 on queries, 429, duplicidade (our own note,
  or another till's), a lying chave, contingency, and the cancel race (the loser of two
  cancels of one note hears 573/218 first).
* *Cancels*: a share of the sales the till saw authorized are cancelled by a manager a few
  sales later, some by the two processes at the same instant; a cancel that ended in doubt
  is tried again later (sometimes again by both).

**The catch-up.** Faults off, every issuer up, no process alive. Then, until nothing moves:
a lone process recovers, sends the queue, and catches up (reconcile + drain) until the counts
stop changing;
the manager settles each in-doubt Emites-Client sale (whose protocol has no query) with
``posapp nfce resolve``, as they would after looking the sale's ``PDV-REF`` tag up in the
daemon: ``--chave`` with the note the simulator's ground truth holds for the sale's reference,
``--not-issued`` when there is none (a note whose answers lied is left alone: it waits for a
person, see *held* below); a cancel still without an answer is tried again, and failing that
settled with ``posapp nfce resolve --cancelled PROT`` / ``--not-cancelled`` from the truth.

**The check** (:func:`judge`) reads the journal and the simulators' ground truth
(:mod:`posapp.sim.truth`: what each issuer really issued and cancelled, whatever it answered).
A sale's notes are the non-foreign truth notes whose reference is the sale's
(``idempotency_reference(till, sale)``). Every sale handed to a till ends in exactly one of:

* ``authorized``: the journal says AUTHORIZED with the chave (and issuer) of its one note,
  and no cancel event exists for that note;
* ``cancelled``: the journal says CANCELLED with the chave of its one note, and the issuer
  registered a cancel event for it;
* ``held`` (for a manager, correctly): IN_DOUBT and never authorized, because its one note's
  answers lied about the chave, or because another till's note holds its reference;
* ``pending``: nothing issued anywhere, and the journal shows it waiting (QUEUED, REJECTED or
  IN_DOUBT): provably not issued, still visible;
* ``unsettled``: issued, IN_DOUBT or CANCELLING after the catch-up (visible, never resent;
  reported, not a broken promise);
* **lost**: not in the journal, or with nothing issued and not visible as waiting (VOIDED,
  OPEN, ISSUING);
* **twice**: more than one note of its own across the three issuers;
* **wrong**: anything else: AUTHORIZED/CANCELLED without its note, with another chave (the
  lie the issuer told included) or another issuer; AUTHORIZED while the issuer holds a cancel;
  CANCELLED without a cancel event; issued while the journal says QUEUED or REJECTED (it would
  be sent again).

A note of ours that belongs to no sale handed out (``orphans``) fails the check too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socketserver
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

from posapp.domain.issuance import idempotency_reference
from posapp.domain.lifecycle import SaleState
from posapp.journal.store import Journal, SaleRow
from posapp.sim.truth import TruthEvent, TruthNote
from tests.support.issuers import Issuers
from tests.support.sales import sale_id_of, sale_mapping

REPO = Path(__file__).resolve().parents[2]
MOTIVO = "Desistencia do comprador"
MANAGER = "gerente"
CRASH_POINTS = ("after_journal", "after_answer", "before_print")
# What each issuer can be made to do wrong (name -> weight). A lie about the série or número
# is left out where the issuer numbers (Emites-Client, Focus): a note of this store with
# another número cannot be told from a real one there; where we number (Integra) it can.
# A lie (or another till's note under the reference) holds every sale it touches for a
# manager: those weigh less, or the held sales would crowd out the rest.
EMITES_FAULTS: dict[str, float] = {
    "down": 3,
    "hang": 1,
    "slow": 1,
    "drop_after_request": 2,
    "garbage": 1,
    "invalid_json": 1,
    "huge_numbers": 1,
    "erro_after_issue": 1,
    "processando_after_issue": 1,
    "erro_unprocessed": 1,
    "contingency": 1,
    "lying_chave:other_cnpj": 0.25,
    "lying_chave:other_uf": 0.25,
    "lying_chave:model_55": 0.25,
    "lying_chave:bad_check_digit": 0.25,
    "cancel_race:573": 1,
    "cancel_race:218": 1,
}
HTTP_FAULTS: dict[str, float] = {
    "down": 3,
    "hang": 1,
    "slow": 1,
    "drop_after_accept": 2,
    "garbage:html": 1,
    "garbage:truncated": 1,
    "garbage:huge_numbers": 1,
    "status_5xx:503": 1,
    "error_after_accept:500": 1,
    "error_after_accept:502": 1,
    "refuse_query:401": 1,
    "refuse_query:403": 1,
    "rate_limit": 1,
    "duplicidade:own": 1,
    "duplicidade:foreign": 0.5,
    "lying_chave:other_cnpj": 0.25,
    "lying_chave:other_uf": 0.25,
    "lying_chave:model_55": 0.25,
    "lying_chave:bad_check_digit": 0.25,
    "cancel_race:573": 1,
    "cancel_race:218": 1,
}
INTEGRA_ONLY: dict[str, float] = {"lying_chave:other_serie": 0.25, "lying_chave:other_numero": 0.25}
ISSUERS = ("emites", "focusnfe", "integranotas")
CANCEL_RACE_WAIT_S = 0.3  # the winner's answer waits this long at most for the loser's
# Bounds on one command (then the process is killed). Integra Notas asks its clients for a read
# timeout of 60 s at least (posapp/fiscal/integranotas.py), so a hung Integra holds a command
# that long unless the fault is switched off first.
TIMEOUT_S = {"issue": 90.0, "cancel": 90.0, "drain": 300.0, "send_queue": 300.0, "counts": 30.0}


@dataclass(frozen=True)
class SoakOptions:
    sales: int = 10_000
    seed: int = 1
    minutes: float | None = None  # stop handing out new sales after this long
    cancel_share: float = 0.08  # of the sales seen authorized
    pair_share: float = 0.35  # of the cancels: both processes at once
    kill_every: int = 25  # about one kill per this many sales
    fault_every_s: float = 1.5  # faults switched about this often (seconds)
    response_timeout_s: float = 1.0  # the tills' issuer timeouts (a hang costs this)
    work_dir: Path | None = None
    keep: bool = False  # keep the work folder (always kept when a check fails)
    log: TextIO | None = None  # progress lines


@dataclass(frozen=True)
class Violation:
    kind: str  # lost | twice | wrong | orphan | unsettled
    sale_id: str | None
    detail: str

    def __str__(self) -> str:
        return f"{self.kind:<9} {self.sale_id or '-':<12} {self.detail}"


@dataclass
class SoakReport:
    options: SoakOptions
    sales: int = 0  # handed to a till
    kills: Counter[str] = field(default_factory=Counter)  # "point/during"
    faults: Counter[str] = field(default_factory=Counter)  # "issuer:fault"
    cancels_sent: int = 0
    cancel_pairs: int = 0
    worker_errors: Counter[str] = field(default_factory=Counter)
    error_examples: dict[str, str] = field(default_factory=dict)  # the first of each kind
    timeouts: int = 0
    resolved: Counter[str] = field(default_factory=Counter)
    selling_s: float = 0.0
    catch_up_s: float = 0.0
    catch_up_rounds: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    held: Counter[str] = field(default_factory=Counter)  # why, for the sales held for a manager
    issued_by: Counter[str] = field(default_factory=Counter)
    violations: list[Violation] = field(default_factory=list)
    work_dir: Path | None = None

    def count(self, kind: str) -> int:
        return sum(1 for v in self.violations if v.kind == kind)

    @property
    def lost(self) -> int:
        return self.count("lost")

    @property
    def twice(self) -> int:
        return self.count("twice")

    @property
    def wrong(self) -> int:
        return self.count("wrong")

    @property
    def orphans(self) -> int:
        return self.count("orphan")

    @property
    def ok(self) -> bool:
        return self.lost == self.twice == self.wrong == self.orphans == 0

    @property
    def elapsed_s(self) -> float:
        return self.selling_s + self.catch_up_s

    def summary(self) -> str:
        o = self.options
        kills_by_point: Counter[str] = Counter()
        for key, n in self.kills.items():
            kills_by_point[key.split("/")[0]] += n
        lines = [
            f"soak: {self.sales} sales (asked {o.sales}), seed {o.seed}",
            f"  elapsed      {self.elapsed_s:.1f} s (selling {self.selling_s:.1f} s, "
            f"catch-up {self.catch_up_s:.1f} s in {self.catch_up_rounds} rounds); "
            f"{self.sales / self.selling_s if self.selling_s else 0:.1f} sales/s while selling, "
            f"{self.sales / self.elapsed_s if self.elapsed_s else 0:.1f} overall",
            f"  kills        {sum(self.kills.values())}: "
            + ", ".join(f"{k} {n}" for k, n in sorted(kills_by_point.items())),
            "               " + ", ".join(f"{k} {n}" for k, n in sorted(self.kills.items())),
            f"  faults       {sum(self.faults.values())} applied: "
            + ", ".join(f"{k} {n}" for k, n in sorted(self.faults.items())),
            f"  cancels      {self.cancels_sent} sent ({self.cancel_pairs} by two processes at once)",
            "  manager      " + (", ".join(f"{k} {n}" for k, n in sorted(self.resolved.items())) or "-"),
            "  notes        " + ", ".join(f"{k} {n}" for k, n in sorted(self.issued_by.items())),
            "  outcome      " + ", ".join(f"{k} {n}" for k, n in sorted(self.outcomes.items())),
            "  held         " + (", ".join(f"{k} {n}" for k, n in sorted(self.held.items())) or "-"),
        ]
        if self.worker_errors:
            lines.append(
                "  refusals     " + ", ".join(f"{k} {n}" for k, n in sorted(self.worker_errors.items()))
            )
            lines.extend(f"    {k}: {text}" for k, text in sorted(self.error_examples.items()))
        if self.timeouts:
            lines.append(f"  timeouts     {self.timeouts} commands outlived their bound (process killed)")
        lines.append(
            f"  LOST {self.lost}   TWICE {self.twice}   WRONG {self.wrong}   orphan notes {self.orphans}"
            f"   (held for a manager, correctly: {self.outcomes.get('held', 0)};"
            f" unsettled: {self.count('unsettled')})"
        )
        for violation in self.violations[:40]:
            lines.append(f"    {violation}")
        if len(self.violations) > 40:
            lines.append(f"    ... {len(self.violations) - 40} more")
        if self.work_dir is not None:
            lines.append(f"  work folder  {self.work_dir} (summary.txt, violations.txt, faults.log, logs/)")
        return "\n".join(lines)


# -- a till process ---------------------------------------------------------------------------


class Worker:
    """One :mod:`tests.support.soak_worker` process and the commands in flight to it."""

    def __init__(self, soak: Soak, name: str, crash_at: str | None) -> None:
        self.soak = soak
        self.name = name
        self.crash_at = crash_at
        self.process: asyncio.subprocess.Process | None = None
        self.pending: dict[int, tuple[str, asyncio.Future[dict[str, Any]]]] = {}
        self.killed_by_us: str | None = None  # the label of our SIGKILL
        self.death: str | None = None  # the kill label once it died by SIGKILL
        self._ids = 0
        self._reader: asyncio.Task[None] | None = None
        self._exited = asyncio.Event()
        self.log_name = ""

    @property
    def alive(self) -> bool:
        return not self._exited.is_set()

    async def start(self) -> bool:
        env = {**os.environ, **Issuers.token_env(), "PYTHONPATH": str(REPO)}
        env["POSAPP_LOG_DIR"] = str(self.soak.work / "logs")
        env.pop("POSAPP_CRASH_AT", None)
        if self.crash_at is not None:
            env["POSAPP_CRASH_AT"] = self.crash_at
        self.soak.spawned += 1
        self.log_name = f"{self.soak.spawned:05d}-{self.name}.err"
        stderr = (self.soak.work / "logs" / self.log_name).open("wb")
        try:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.support.soak_worker",
                str(self.soak.data),
                str(self.soak.config_path),
                cwd=REPO,
                env=env,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                limit=16 * 1024 * 1024,
            )
        finally:
            stderr.close()
        assert self.process.stdout is not None
        try:
            line = await asyncio.wait_for(self.process.stdout.readline(), 60)
        except TimeoutError:
            line = b""
            self.kill(label="sigkill/timeout-start")
        if not line:
            await self._finish()
            return False
        self._reader = asyncio.create_task(self._read())
        return True

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        while line := await self.process.stdout.readline():
            reply = json.loads(line)
            entry = self.pending.pop(reply.get("id"), None)
            if entry is not None and not entry[1].done():
                entry[1].set_result(reply)
        await self._finish()

    async def _finish(self) -> None:
        assert self.process is not None
        returncode = await self.process.wait()
        if returncode == -signal.SIGKILL and self.death is None:
            if self.killed_by_us is not None:
                self.death = self.killed_by_us
            else:  # it killed itself at its crash point
                self.death = f"{(self.crash_at or '?').split(':')[0]}/{self.doing()}"
            self.soak.report.kills[self.death] += 1
        for _op, future in self.pending.values():
            if not future.done():
                future.set_result({"died": True})
        self.pending.clear()
        self._exited.set()

    def doing(self) -> str:
        ops = {op for op, _ in self.pending.values()}
        for op in ("issue", "cancel", "drain"):
            if op in ops:
                return op
        return "idle" if not ops else sorted(ops)[0]

    async def call(
        self, op: str, *, kill_after_s: float | None = None, **fields: Any
    ) -> dict[str, Any] | None:
        """Send one command and wait for its answer; None when the process died first (or
        outlived the command's bound, and was killed for it)."""
        if not self.alive or self.process is None or self.process.stdin is None:
            return None
        self._ids += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[self._ids] = (op, future)
        try:
            self.process.stdin.write((json.dumps({"id": self._ids, "op": op, **fields}) + "\n").encode())
            await self.process.stdin.drain()
        except (ConnectionError, OSError):
            self.pending.pop(self._ids, None)
            await self._exited.wait()
            return None
        if kill_after_s is not None:
            asyncio.get_running_loop().call_later(kill_after_s, self.kill)
        try:
            reply = await asyncio.wait_for(asyncio.shield(future), TIMEOUT_S.get(op, 60.0))
        except TimeoutError:
            self.soak.report.timeouts += 1
            sale_id = fields.get("sale", {}).get("sale_id", fields.get("sale_id", ""))
            self.soak.say(f"  {op} {sale_id} outlived its bound: killing {self.log_name}")
            self.kill(label=f"sigkill/timeout-{op}")
            await self._exited.wait()
            return None
        if reply.get("died"):
            return None
        if float(reply.get("took_s", 0)) > 10:
            self.soak.say(f"  slow: {op} took {reply['took_s']} s in {self.log_name}")
        return reply

    def kill(self, label: str | None = None) -> None:
        """SIGKILL from outside (counted by what the process was doing)."""
        if not self.alive or self.process is None or self.process.returncode is not None:
            return
        if self.killed_by_us is None:
            self.killed_by_us = label or f"sigkill/{self.doing()}"
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()

    async def stop(self, *, kill: bool = False, patience_s: float = 60.0) -> None:
        """Let it finish what it is doing and exit (or kill it), and wait until it has. Past
        ``patience_s`` it is killed (counted as a kill, by what it was still doing)."""
        if self.process is None:
            return
        if self.alive:
            if kill:
                self.kill()
            else:
                try:
                    assert self.process.stdin is not None
                    self.process.stdin.write(b'{"op": "exit"}\n')
                    await self.process.stdin.drain()
                    self.process.stdin.close()
                except (ConnectionError, OSError):
                    pass
                try:
                    await asyncio.wait_for(self._exited.wait(), patience_s)
                except TimeoutError:
                    self.kill()
        await self._exited.wait()
        if self._reader is not None:
            await self._reader


# -- the faults -------------------------------------------------------------------------------


class Faults:
    """Switches the issuers' fault knobs (from a worker thread: the simulators are blocking)."""

    def __init__(self, issuers: Issuers, report: SoakReport, timeline: Path) -> None:
        self.issuers = issuers
        self.report = report
        self.current: dict[str, str | None] = dict.fromkeys(ISSUERS)
        self.timeline = timeline  # one line per switch, for whoever reads a violation
        self.route = "emites"  # the first issuer not held down by an outage
        self.started = time.monotonic()

    def menu(self, issuer: str) -> dict[str, float]:
        if issuer == "emites":
            return EMITES_FAULTS
        if issuer == "integranotas":
            return {**HTTP_FAULTS, **INTEGRA_ONLY}
        return HTTP_FAULTS

    def switch(self, rng: random.Random) -> None:
        """One change of weather. Now and then an outage moves the sales down the failover
        order (Emites-Client down: Focus takes them; Focus down too: Integra does), so that every
        issuer's faults meet sales; otherwise each issuer keeps its fault or gets another."""
        if rng.random() < 0.3:
            self.route = rng.choices(ISSUERS, weights=(2, 1, 1))[0]
            self.report.faults[f"route:{self.route}"] += 1
        ahead = ISSUERS[: ISSUERS.index(self.route)]
        for issuer in ISSUERS:
            if issuer in ahead:
                if self.current[issuer] != "down":
                    self.set(issuer, "down", rng)
                continue
            if self.current[issuer] == "down" and self.route != "emites" and issuer == self.route:
                self.set(issuer, None, rng)  # the one taking the sales is up, faults or not
                continue
            if rng.random() < 0.4:
                continue  # this one keeps what it has
            if rng.random() < 0.45:
                self.set(issuer, None, rng)
            else:
                menu = self.menu(issuer)
                fault = rng.choices(list(menu), weights=list(menu.values()))[0]
                self.set(issuer, fault, rng)

    def all_off(self) -> None:
        self.route = "emites"
        for issuer in ISSUERS:
            self.set(issuer, None, random.Random(0))
        # A clean restart of each: nothing held from before (hung handlers are released).
        self.issuers.set_up(emites=False, focus=False, integra=False)
        self.issuers.set_up(emites=True, focus=True, integra=True)

    def set(self, issuer: str, fault: str | None, rng: random.Random) -> None:
        before = self.current[issuer]
        if before is not None and before.startswith(("hang", "down")):
            self._up(issuer, down_first=before == "hang")  # a hang's held handlers go with the restart
        self._clear(issuer)
        self.current[issuer] = fault
        if fault is None:
            if before is not None:
                with self.timeline.open("a", encoding="utf-8") as timeline:
                    timeline.write(f"{time.monotonic() - self.started:9.3f} {time.time():.3f} {issuer} off\n")
            return
        self.report.faults[f"{issuer}:{fault}"] += 1
        with self.timeline.open("a", encoding="utf-8") as timeline:
            timeline.write(f"{time.monotonic() - self.started:9.3f} {time.time():.3f} {issuer} {fault}\n")
        if fault == "down":
            self._down(issuer)
        elif issuer == "emites":
            self._emites(fault, rng)
        else:
            self._http(issuer, fault, rng)

    def _clear(self, issuer: str) -> None:
        if issuer == "emites":
            faults = self.issuers.emites.faults
            faults.reset()
            faults.cancel_race_wait_s = CANCEL_RACE_WAIT_S
        else:
            sim = self.issuers.focus if issuer == "focusnfe" else self.issuers.integra
            sim.faults.clear()
            sim.faults.cancel_race_wait_s = CANCEL_RACE_WAIT_S

    def _state(self) -> dict[str, bool]:
        up = {name: self.current[name] != "down" for name in ISSUERS}
        return {"emites": up["emites"], "focus": up["focusnfe"], "integra": up["integranotas"]}

    def _down(self, issuer: str) -> None:
        self.issuers.set_up(**self._state())

    def _up(self, issuer: str, *, down_first: bool) -> None:
        self.current[issuer] = None
        if down_first:
            state = self._state()
            key = {"emites": "emites", "focusnfe": "focus", "integranotas": "integra"}[issuer]
            self.issuers.set_up(**{**state, key: False})
        self.issuers.set_up(**self._state())

    def _emites(self, fault: str, rng: random.Random) -> None:
        faults = self.issuers.emites.faults
        name, _, value = fault.partition(":")
        if name == "hang":
            faults.hang = True
        elif name == "slow":
            faults.delay_s = rng.uniform(0.05, 0.3)
        elif name == "drop_after_request":
            faults.close_mid_answer = True
        elif name == "garbage":
            faults.garbage = True
        elif name == "invalid_json":
            faults.invalid_json = True
        elif name == "huge_numbers":
            faults.huge_numbers = True
        elif name == "erro_after_issue":
            faults.status_after_issue = "erro"
        elif name == "processando_after_issue":
            faults.status_after_issue = "processando"
        elif name == "erro_unprocessed":
            faults.status_override = "erro"
        elif name == "contingency":
            faults.contingency = True
        elif name == "lying_chave":
            faults.lying_chave = value
        elif name == "cancel_race":
            faults.cancel_race = value
        else:
            raise AssertionError(fault)

    def _http(self, issuer: str, fault: str, rng: random.Random) -> None:
        sim = self.issuers.focus if issuer == "focusnfe" else self.issuers.integra
        faults = sim.faults
        name, _, value = fault.partition(":")
        if name == "hang":
            faults.hang = True
        elif name == "slow":
            faults.slow_s = rng.uniform(0.05, 0.3)
        elif name == "drop_after_accept":
            faults.drop_after_accept = True
        elif name == "garbage":
            faults.garbage = value
        elif name == "status_5xx":
            faults.status_5xx = int(value)
        elif name == "error_after_accept":
            faults.error_after_accept = int(value)
        elif name == "refuse_query":
            faults.refuse_query = int(value)
        elif name == "rate_limit":
            faults.rate_limit = True
            faults.retry_after_s = 1
        elif name == "duplicidade":
            faults.duplicidade = value
            faults.duplicate_detail = rng.choice(("chave", "full", "none"))
        elif name == "lying_chave":
            faults.lying_chave = value
        elif name == "cancel_race":
            faults.cancel_race = value
        else:
            raise AssertionError(fault)


# -- the soak ---------------------------------------------------------------------------------


@dataclass
class Authorized:
    sale_id: str
    at: float  # time.monotonic() when the till said so
    tries: int = 0


class Soak:
    def __init__(self, options: SoakOptions, issuers: Issuers, work: Path) -> None:
        self.options = options
        self.issuers = issuers
        self.work = work
        self.data = work / "data"
        self.config_path = work / "posapp.toml"
        self.rng = random.Random(options.seed)  # the till's sales, cancels and kills
        self.fault_rng = random.Random(options.seed + 1)  # switched in a worker thread
        self.drain_rng = random.Random(options.seed + 2)  # the second process's rhythm
        self.report = SoakReport(options, work_dir=work)
        self.faults = Faults(issuers, self.report, work / "faults.log")
        self.spawned = 0
        self.failed_starts = 0
        self.next_index = 0
        self.retry: deque[int] = deque()  # handed out, no answer seen: the cashier rings it again
        self.handed: set[int] = set()
        self.to_cancel: list[tuple[int, Authorized]] = []  # (due step, sale)
        self.step = 0
        (work / "logs").mkdir(parents=True, exist_ok=True)
        timeout = options.response_timeout_s
        self.config_path.write_text(
            issuers.config_toml(
                response_timeout_s=timeout,
                provider_timeout_s=timeout,
                printer_uri=f"file:{work / 'receipts.bin'}",
            ),
            encoding="utf-8",
        )

    def say(self, text: str) -> None:
        if self.options.log is not None:
            print(text, file=self.options.log, flush=True)

    # -- selling ----------------------------------------------------------------------------

    async def sell(self) -> None:
        options = self.options
        started = time.monotonic()
        deadline = started + options.minutes * 60 if options.minutes is not None else None
        last_said = started
        await asyncio.to_thread(self.faults.all_off)
        weather = asyncio.create_task(self.weather())
        try:
            while self.retry or self.next_index < options.sales:
                if deadline is not None and time.monotonic() > deadline and not self.retry:
                    break
                await self.round(deadline)
                if time.monotonic() - last_said > 10:
                    last_said = time.monotonic()
                    self.say(
                        f"  {time.monotonic() - started:6.0f} s  {len(self.handed)} sales handed, "
                        f"{sum(self.report.kills.values())} kills, {sum(self.report.faults.values())} faults"
                    )
        finally:
            weather.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await weather
        self.report.sales = len(self.handed)
        self.report.selling_s = time.monotonic() - started

    async def weather(self) -> None:
        """Faults switched on and off over time, whatever the tills are doing (a hang ends when
        it is switched off: the simulator restarts, and the held request sees its connection
        close)."""
        while True:
            await asyncio.sleep(self.fault_rng.uniform(0.1, 2 * self.options.fault_every_s))
            await asyncio.to_thread(self.faults.switch, self.fault_rng)

    def crash_spec(self) -> str | None:
        if self.rng.random() < 0.4:
            return None
        point = self.rng.choice(CRASH_POINTS)
        return f"{point}:{self.rng.randint(1, self.options.kill_every)}"

    def external_kill(self, share: float, most_s: float) -> float | None:
        if self.rng.random() < share:
            return self.rng.uniform(0.0, most_s)
        return None

    async def round(self, deadline: float | None) -> None:
        rng = self.rng
        till = Worker(self, "till", self.crash_spec())
        if not await till.start():
            self.failed_starts += 1
            if self.failed_starts > 5:
                raise RuntimeError(f"the till does not start; see {self.work / 'logs'}")
            return
        self.failed_starts = 0
        second: Worker | None = None
        if rng.random() < 0.7:
            second = Worker(self, "second", self.crash_spec())
            if not await second.start():
                second = None
        # The background catch-up: the second process's, or the till's own (as the GUI's drainer).
        drainer = asyncio.create_task(self.drain_loop(second or till))
        length = rng.randint(10, 6 * self.options.kill_every)
        try:
            for _ in range(length):
                if not till.alive or (second is not None and not second.alive):
                    break
                index = self.next_sale(deadline)
                if index is None:
                    break
                self.step += 1
                await self.cancels_due(till, second)
                await self.issue(till, index)
        finally:
            drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drainer
            # A process died: the other is killed too, or closes (what it is doing gets a few
            # seconds, then it is killed: a slow drain does not hold the till up).
            kill_the_rest = rng.random() < 0.5 and not (till.alive and (second is None or second.alive))
            for worker in (till, second):
                if worker is not None:
                    await worker.stop(kill=kill_the_rest, patience_s=3.0)

    def next_sale(self, deadline: float | None) -> int | None:
        if self.retry:
            return self.retry.popleft()
        if self.next_index >= self.options.sales or (deadline is not None and time.monotonic() > deadline):
            return None
        self.next_index += 1
        return self.next_index - 1

    async def issue(self, till: Worker, index: int) -> None:
        self.handed.add(index)
        kill = self.external_kill(1 / (2 * self.options.kill_every), 0.08)
        reply = await till.call("issue", sale=sale_mapping(index), kill_after_s=kill)
        if reply is None:
            self.retry.append(index)  # the till died: rung up again on the next one
            return
        if not reply.get("ok"):
            self.refused("issue", reply)
            self.retry.append(index)
            return
        if reply.get("state") == SaleState.AUTHORIZED and self.rng.random() < self.options.cancel_share:
            due = self.step + self.rng.randint(1, 12)
            self.to_cancel.append((due, Authorized(sale_id_of(index), time.monotonic())))

    def refused(self, op: str, reply: dict[str, Any]) -> None:
        """A command answered with an error: counted, the first of each kind kept."""
        key = f"{op}:{reply.get('error')}"
        self.report.worker_errors[key] += 1
        self.report.error_examples.setdefault(key, f"{reply.get('message')} [{reply.get('detail')}]")

    async def drain_loop(self, worker: Worker) -> None:
        while worker.alive:
            await asyncio.sleep(self.drain_rng.uniform(0.3, 1.5))
            kill = self.drain_rng.uniform(0.0, 0.3) if self.drain_rng.random() < 0.08 else None
            await worker.call("drain", limit=40, kill_after_s=kill)

    async def cancels_due(self, till: Worker, second: Worker | None) -> None:
        due = [c for c in self.to_cancel if c[0] <= self.step]
        self.to_cancel = [c for c in self.to_cancel if c[0] > self.step]
        for _, sale in due:
            if time.monotonic() - sale.at > 25 * 60:
                continue  # past the window (less its margin): a manager would not try
            sale.tries += 1
            pair = second is not None and second.alive and self.rng.random() < self.options.pair_share
            workers = [till, second] if pair and second is not None else [till]
            kill_one = self.rng.randrange(len(workers)) if self.rng.random() < 0.12 else None
            self.report.cancels_sent += 1
            self.report.cancel_pairs += int(pair)
            replies = await asyncio.gather(
                *(
                    w.call(
                        "cancel",
                        sale_id=sale.sale_id,
                        motivo=MOTIVO,
                        by=MANAGER,
                        kill_after_s=self.rng.uniform(0.0, 0.05) if i == kill_one else None,
                    )
                    for i, w in enumerate(workers)
                )
            )
            unsettled = False
            for reply in replies:
                if reply is None:
                    unsettled = True
                elif not reply.get("ok"):
                    self.refused("cancel", reply)
                elif reply.get("state") != SaleState.CANCELLED:
                    unsettled = True
            if unsettled and sale.tries < 3:  # the manager tries again a little later
                self.to_cancel.append((self.step + self.rng.randint(3, 20), sale))

    # -- catching up ------------------------------------------------------------------------

    async def catch_up(self, max_rounds: int = 12) -> None:
        started = time.monotonic()
        for worker_round in range(max_rounds):
            self.report.catch_up_rounds = worker_round + 1
            await asyncio.to_thread(self.faults.all_off)
            await asyncio.sleep(0.3)
            moved = await self.settle_with_a_till()
            resolved = await self.manager_resolves()
            self.say(f"  catch-up round {worker_round + 1}: moved {moved}, resolved {resolved}")
            if not moved and not resolved:
                break
        self.report.catch_up_s = time.monotonic() - started

    async def settle_with_a_till(self) -> bool:
        """A lone till recovers, catches up until nothing moves and retries open cancels.
        True when anything changed."""
        till = Worker(self, "catch-up", None)
        if not await till.start():
            raise AssertionError("the catch-up till did not start; see " + str(self.work / "logs"))
        changed = False
        try:
            counts = await self.counts(till)
            # The queue first, while this process's rate budgets with the providers are
            # whole: reconciling every in-doubt sale can spend them all (see the report).
            await till.call("send_queue", limit=10_000)
            for _ in range(30):
                await till.call("drain", limit=10_000)
                after = await self.counts(till)
                self.say(f"    {after}")
                if after == counts:
                    break
                counts, changed = after, True
            for row in self.rows(states=[SaleState.CANCELLING]):
                reply = await till.call("cancel", sale_id=row.sale_id, motivo=MOTIVO, by=MANAGER)
                if reply is not None and reply.get("ok") and reply.get("state") != SaleState.CANCELLING:
                    changed = True
                    self.report.resolved["cancel retried"] += 1
        finally:
            await till.stop()
        return changed

    async def counts(self, till: Worker) -> dict[str, int]:
        reply = await till.call("counts")
        if reply is None or not reply.get("ok"):
            raise AssertionError(f"counts failed: {reply}")
        counts: dict[str, int] = reply["counts"]
        return counts

    def rows(self, states: list[SaleState] | None = None) -> list[SaleRow]:
        journal = Journal.in_dir(self.data)
        try:
            return journal.list_sales(states=states, limit=10 * max(self.options.sales, 1000))
        finally:
            journal.close()

    def till_id(self) -> str:
        journal = Journal.in_dir(self.data)
        try:
            return journal.till_id()
        finally:
            journal.close()

    async def manager_resolves(self) -> int:
        """``posapp nfce resolve`` for what only a person can settle: in-doubt Emites-Client
        sales (by the note the daemon holds under the sale's reference) and cancels whose
        answer never came (by the issuer's record). Returns how many were settled."""
        till = self.till_id()
        truth = Truth.of(self.issuers)
        commands: list[tuple[str, list[str]]] = []
        for row in self.rows(states=[SaleState.IN_DOUBT]):
            if row.backend != "emites":
                continue
            notes = truth.own.get(idempotency_reference(till, row.sale_id), [])
            if len(notes) > 1 or any(n.told_chave is not None for n in notes):
                continue  # issued twice (the check will say so) or a lie: a person looks at it
            if notes:
                commands.append(("issued", [row.sale_id, "--chave", notes[0].chave]))
            else:
                commands.append(("not issued", [row.sale_id, "--not-issued"]))
        for row in self.rows(states=[SaleState.CANCELLING]):
            events = truth.cancels.get(row.chave or "", [])
            if events:
                commands.append(("cancelled", [row.sale_id, "--cancelled", events[0].protocolo]))
            else:
                commands.append(("not cancelled", [row.sale_id, "--not-cancelled"]))
        gate = asyncio.Semaphore(2)

        async def resolve(kind: str, arguments: list[str]) -> None:
            async with gate:
                if await self.cli("resolve", *arguments, "--operator", MANAGER):
                    self.report.resolved[f"resolve {kind}"] += 1
                else:
                    self.report.worker_errors[f"resolve {kind}: refused"] += 1

        await asyncio.gather(*(resolve(kind, arguments) for kind, arguments in commands))
        return len(commands)

    async def cli(self, command: str, *arguments: str) -> bool:
        env = {**os.environ, **Issuers.token_env(), "PYTHONPATH": str(REPO)}
        env["POSAPP_LOG_DIR"] = str(self.work / "logs")
        env.pop("POSAPP_CRASH_AT", None)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "posapp",
            "nfce",
            command,
            *arguments,
            "--data-dir",
            str(self.data),
            "--config",
            str(self.config_path),
            "--json",
            cwd=REPO,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), 60)
        except TimeoutError:
            process.kill()
            await process.wait()
            return False
        if process.returncode != 0:
            self.say(
                f"  posapp nfce {command} {' '.join(arguments)}: exit {process.returncode}: {out!r} {err!r}"
            )
        return process.returncode == 0


# -- the truth and the verdict ------------------------------------------------------------------


@dataclass
class Truth:
    own: dict[str, list[TruthNote]]  # reference -> notes issued for it (not another till's)
    foreign: dict[str, list[TruthNote]]  # reference -> another till's notes under it
    unreferenced: list[TruthNote]
    cancels: dict[str, list[TruthEvent]]  # real chave -> cancel events

    @classmethod
    def of(cls, issuers: Issuers) -> Truth:
        notes = [*issuers.emites.simulator.truth.notes, *issuers.focus.truth.notes]
        notes += issuers.integra.truth.notes
        events = [*issuers.emites.simulator.truth.events, *issuers.focus.truth.events]
        events += issuers.integra.truth.events
        truth = cls({}, {}, [], {})
        for note in notes:
            if note.reference is None:
                if not note.foreign:
                    truth.unreferenced.append(note)
                continue
            (truth.foreign if note.foreign else truth.own).setdefault(note.reference, []).append(note)
        for event in events:
            if event.kind == "cancelamento":
                truth.cancels.setdefault(event.chave, []).append(event)
        return truth


def judge(report: SoakReport, rows: list[SaleRow], truth: Truth, till: str, handed: set[int]) -> None:
    """Every sale handed out against the issuers' truth (see the module docstring)."""
    by_id = {row.sale_id: row for row in rows}
    references = {idempotency_reference(till, sale_id_of(i)): sale_id_of(i) for i in handed}
    for reference, notes in truth.own.items():
        if reference not in references:
            for note in notes:
                report.violations.append(
                    Violation(
                        "orphan", None, f"{note.issuer} note {note.chave} for unknown reference {reference}"
                    )
                )
    for note in truth.unreferenced:
        report.violations.append(
            Violation("orphan", None, f"{note.issuer} note {note.chave} with no reference")
        )
    for notes in truth.own.values():
        for note in notes:
            report.issued_by[note.issuer] += 1
    for reference, sale_id in sorted(references.items(), key=lambda item: item[1]):
        outcome, problem = verdict(by_id.get(sale_id), truth.own.get(reference, []), truth, reference)
        report.outcomes[outcome] += 1
        if outcome == "held":
            report.held[problem or "?"] += 1
        elif problem is not None:
            report.violations.append(Violation(outcome, sale_id, problem))


def verdict(
    row: SaleRow | None, notes: list[TruthNote], truth: Truth, reference: str
) -> tuple[str, str | None]:
    """(outcome, why) for one sale: what is wrong, or why it is held; None when it is right."""
    if row is None:
        issued = f"; {notes[0].issuer} issued {notes[0].chave}" if notes else ""
        return "lost", "not in the journal" + issued
    state = row.state
    described = f"journal {state.value} on {row.backend} chave {row.chave}"
    if len(notes) > 1:
        issued = ", ".join(
            f"{n.issuer} {n.chave} ({n.status}" + (f", told {n.told_chave})" if n.told_chave else ")")
            for n in notes
        )
        return "twice", f"{described}; issued {issued}"
    note = notes[0] if notes else None
    if note is None:
        if state in (SaleState.QUEUED, SaleState.REJECTED):
            return "pending", None
        if state is SaleState.IN_DOUBT:
            if truth.foreign.get(reference):
                return "held", f"{row.backend}: another till's note holds its reference"
            return "pending", None
        if state in (SaleState.VOIDED, SaleState.OPEN, SaleState.ISSUING):
            return "lost", f"{described}; nothing issued, and not waiting to be"
        return "wrong", f"{described}; nothing issued anywhere"
    cancelled = bool(truth.cancels.get(note.chave))
    truth_text = f"{note.issuer} issued {note.chave} ({note.status})" + (
        f", told {note.told_chave}" if note.told_chave else ""
    )
    truth_text += ", cancel registered" if cancelled else ""
    if state in (SaleState.AUTHORIZED, SaleState.CANCELLED):
        if row.chave != note.chave or row.backend != note.issuer:
            lie = " (the lie)" if row.chave is not None and row.chave == note.told_chave else ""
            return "wrong", f"{described}{lie}; {truth_text}"
        if state is SaleState.AUTHORIZED and cancelled:
            return "wrong", f"{described}; {truth_text}"
        if state is SaleState.CANCELLED and not cancelled:
            return "wrong", f"{described}; {truth_text}, no cancel event"
        return state.value, None
    if state in (SaleState.QUEUED, SaleState.REJECTED, SaleState.VOIDED, SaleState.OPEN):
        return "wrong", f"{described}; {truth_text}: issued, and the journal would send it again"
    if row.chave is not None and row.chave == note.told_chave:
        return "wrong", f"{described}; {truth_text}: the lie recorded"
    if state is SaleState.IN_DOUBT and note.told_chave is not None:
        return "held", f"{note.issuer}: lied about the chave"
    return "unsettled", f"{described}; {truth_text}"


# -- running it -------------------------------------------------------------------------------


@contextlib.contextmanager
def quiet_disconnects() -> Iterator[None]:
    """A till killed mid-request resets its connection; the HTTP simulators' server would
    print a traceback for each. Those are expected here; anything else is still printed."""
    original = ThreadingHTTPServer.handle_error
    own = ThreadingHTTPServer.__dict__.get("handle_error")

    def handle_error(server: socketserver.BaseServer, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            original(server, request, client_address)

    ThreadingHTTPServer.handle_error = handle_error  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        if own is None:
            del ThreadingHTTPServer.handle_error
        else:
            ThreadingHTTPServer.handle_error = own  # type: ignore[method-assign]


@contextlib.contextmanager
def token_environment() -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in Issuers.token_env()}
    os.environ.update(Issuers.token_env())
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_soak(options: SoakOptions) -> SoakReport:
    """Sell, kill and fault; catch up; judge. The work folder is removed unless asked to
    keep it or a check failed."""
    work = Path(tempfile.mkdtemp(prefix="posapp-soak-", dir=options.work_dir))
    issuers = Issuers()
    soak = Soak(options, issuers, work)
    try:
        with token_environment(), quiet_disconnects():
            soak.say(f"soak: {options.sales} sales, seed {options.seed}, in {work}")
            asyncio.run(_sell_and_catch_up(soak))
            judge(soak.report, soak.rows(), Truth.of(issuers), soak.till_id(), soak.handed)
    finally:
        issuers.close()
    (work / "summary.txt").write_text(soak.report.summary() + "\n", encoding="utf-8")
    (work / "violations.txt").write_text("".join(f"{v}\n" for v in soak.report.violations), encoding="utf-8")
    if soak.report.ok and not options.keep:
        shutil.rmtree(work, ignore_errors=True)
        soak.report.work_dir = None
    return soak.report


async def _sell_and_catch_up(soak: Soak) -> None:
    soak.say("selling...")
    await soak.sell()
    soak.say(f"catching up after {soak.report.selling_s:.0f} s...")
    await soak.catch_up()


def progress(stream: TextIO) -> Callable[[str], None]:
    def write(text: str) -> None:
        print(text, file=stream, flush=True)

    return write
