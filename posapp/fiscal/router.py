"""Failover between issuers: configured order, a circuit breaker each, health probes.

The rule that keeps the second promise lives with the caller (the issue service), and the
router is built around it: a sale moves to the next issuer **only** when the previous one
answered ``NOT_SENT`` (the request never left). ``IN_DOUBT`` stays with the issuer that got
it; the service finds that issuer again by name (:meth:`FailoverRouter.get`) to reconcile
with ``backend.query_issue(prepared)``. :func:`may_fail_over` states the rule in code.

The breaker only decides *whom to try first*: an issuer that keeps failing is skipped for a
cool-down instead of costing every sale a timeout. After the cool-down one trial request
goes through (half-open); a success closes the breaker, a failure opens it again. Health
probes close it early when the issuer answers again. A rate limit the issuer announced
(``retry_after_s``) keeps it skipped for at least that long, whatever the probes say.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Protocol, runtime_checkable

from posapp.domain.issuance import CancelOutcome, Health, Outcome
from posapp.fiscal.errors import BackendMisconfigured
from posapp.fiscal.port import FiscalBackend

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


class BreakerState(StrEnum):
    CLOSED = "closed"  # requests flow
    OPEN = "open"  # skipped until the cool-down ends
    HALF_OPEN = "half_open"  # one trial request allowed


def may_fail_over(outcome: Outcome) -> bool:
    """Only a request known never to have left may be offered to another issuer."""
    return outcome is Outcome.NOT_SENT


class CircuitBreaker:
    """Closed / open / half-open, with an injectable monotonic clock."""

    def __init__(
        self, *, failure_threshold: int = 3, cool_down_s: float = 30.0, clock: Clock = time.monotonic
    ) -> None:
        if failure_threshold < 1 or cool_down_s < 0:
            raise ValueError("failure_threshold must be >= 1 and cool_down_s >= 0")
        self.failure_threshold = failure_threshold
        self.cool_down_s = cool_down_s
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._blocked_until = 0.0  # announced by the issuer (429 Retry-After)

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self._clock() >= self._opened_at + self.cool_down_s:
            self._state = BreakerState.HALF_OPEN
        return self._state

    @property
    def failures(self) -> int:
        return self._failures

    def blocked_s(self) -> float:
        """Seconds left of a block the issuer announced (0 if none)."""
        return max(self._blocked_until - self._clock(), 0.0)

    def allows_request(self) -> bool:
        """Whether a request may go now. Half-open allows it: the service issues one sale
        at a time, so the next answer is the trial that closes or re-opens the breaker."""
        if self.blocked_s() > 0:
            return False
        return self.state is not BreakerState.OPEN

    def record_success(self) -> None:
        self._state = BreakerState.CLOSED
        self._failures = 0

    def record_failure(self, *, retry_after_s: float | None = None) -> None:
        now = self._clock()
        if retry_after_s is not None and retry_after_s > 0:
            self._blocked_until = max(self._blocked_until, now + retry_after_s)
        self._failures += 1
        state = self.state
        if state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
            if state is not BreakerState.OPEN:
                logger.warning("circuit opened after %d failure(s)", self._failures)
            self._state = BreakerState.OPEN
            self._opened_at = now

    def reset(self) -> None:
        """Close the breaker (a probe saw the issuer healthy); an announced block stays."""
        self.record_success()


@runtime_checkable
class RateLimited(Protocol):
    """An issuer that knows it must not be called for a while (HTTP providers after 429)."""

    def blocked_s(self) -> float: ...


class FailoverRouter:
    """Issuers in configured order, each behind a :class:`CircuitBreaker`."""

    def __init__(
        self,
        backends: Sequence[FiscalBackend],
        *,
        failure_threshold: int = 3,
        cool_down_s: float = 30.0,
        probe_timeout_s: float = 10.0,
        clock: Clock = time.monotonic,
    ) -> None:
        names = [b.name for b in backends]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise BackendMisconfigured(
                f"issuer configured twice: {', '.join(duplicates)}",
                user_message=f"Emissor configurado mais de uma vez: {', '.join(duplicates)}.",
            )
        self._backends = tuple(backends)
        self._by_name = {b.name: b for b in backends}
        self._breakers = {
            b.name: CircuitBreaker(failure_threshold=failure_threshold, cool_down_s=cool_down_s, clock=clock)
            for b in backends
        }
        self._health: dict[str, Health] = {b.name: Health.UNKNOWN for b in backends}
        self.probe_timeout_s = probe_timeout_s

    @property
    def backends(self) -> Sequence[FiscalBackend]:
        return self._backends

    def get(self, name: str) -> FiscalBackend:
        """The issuer that handled a request (stored by name in the journal)."""
        try:
            return self._by_name[name]
        except KeyError:
            raise BackendMisconfigured(
                f"no issuer named {name!r} is configured",
                user_message=(
                    f"O emissor '{name}', que recebeu esta venda, não está mais configurado; "
                    "reative-o para conferir a venda."
                ),
            ) from None

    def breaker(self, name: str) -> CircuitBreaker:
        self.get(name)
        return self._breakers[name]

    def health(self, name: str) -> Health:
        self.get(name)
        return self._health[name]

    def ordered_for_issue(self) -> list[FiscalBackend]:
        """Issuers to try for a new sale, in configured order.

        Skipped: those that cannot issue NFC-e (e.g. a Fast Notas account, or a provider
        without a token), those whose breaker is open, and those blocked by a rate limit.
        """
        chosen = []
        for backend in self._backends:
            if not backend.capabilities.issues_nfce:
                continue
            breaker = self._breakers[backend.name]
            if not breaker.allows_request():
                continue
            if isinstance(backend, RateLimited) and backend.blocked_s() > 0:
                continue
            chosen.append(backend)
        return chosen

    def record(
        self, backend_name: str, outcome: Outcome | CancelOutcome, *, retry_after_s: float | None = None
    ) -> None:
        """Feed the breaker: a definitive answer is a success, anything else a failure."""
        breaker = self.breaker(backend_name)
        if outcome.value in (Outcome.AUTHORIZED.value, Outcome.REJECTED.value, "cancelled", "refused"):
            breaker.record_success()
            self._health[backend_name] = Health.UP
        else:
            breaker.record_failure(retry_after_s=retry_after_s)

    async def probe_all(self) -> dict[str, Health]:
        """Probe every issuer concurrently (bounded by ``probe_timeout_s``).

        Issuers that learn their capabilities from the account (Fast Notas) do so in their
        probe, so the start-up probe is also the capability check. A healthy answer closes
        the breaker; a ``DOWN`` counts as a failure.
        """
        results = await asyncio.gather(*(self._probe(b) for b in self._backends))
        return dict(zip((b.name for b in self._backends), results, strict=True))

    async def _probe(self, backend: FiscalBackend) -> Health:
        try:
            async with asyncio.timeout(self.probe_timeout_s):
                health = await backend.probe()
        except TimeoutError:
            health = Health.DOWN
        except Exception:  # a probe must never take the router down; the log keeps the bug
            logger.exception("probe of %s raised", backend.name)
            health = Health.UNKNOWN
        self._health[backend.name] = health
        breaker = self._breakers[backend.name]
        if health in (Health.UP, Health.CONTINGENCY):
            breaker.reset()
        elif health is Health.DOWN:
            breaker.record_failure()
        return health
