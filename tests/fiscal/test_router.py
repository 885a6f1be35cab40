"""The failover router and its circuit breakers: unit rules with a fake clock, then the one
rule that matters end to end (only NOT_SENT fails over) with the real provider simulators."""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from posapp.config import Config, ProviderConfig
from posapp.domain.issuance import (
    CancelOutcome,
    CancelResult,
    CancelTarget,
    Capabilities,
    Health,
    IssueContext,
    IssueResult,
    Outcome,
    PreparedIssue,
)
from posapp.domain.sale import Sale
from posapp.fiscal.errors import BackendMisconfigured
from posapp.fiscal.focusnfe import FocusNfeBackend
from posapp.fiscal.integranotas import IntegraNotasBackend
from posapp.fiscal.port import FiscalBackend
from posapp.fiscal.router import BreakerState, CircuitBreaker, FailoverRouter, may_fail_over
from posapp.sim.focusnfe import FocusNfeSimulator
from posapp.sim.integranotas import IntegraNotasSimulator
from tests.conftest import sale_mapping
from tests.fiscal.provider_helpers import FakeClock


@dataclass
class ScriptedBackend:
    """An issuer whose answers the test scripts (a stand-in for *other* issuers)."""

    name: str
    health: Health = Health.UP
    issues_nfce: bool = True
    blocked: float = 0.0
    probe_delay_s: float = 0.0
    probes: int = 0
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(issues_nfce=self.issues_nfce, reason="" if self.issues_nfce else "não emite")

    def blocked_s(self) -> float:
        return self.blocked

    def prepare_issue(self, context: IssueContext) -> PreparedIssue:
        return PreparedIssue(self.name, context.reference, b"{}")

    async def send_issue(self, prepared: PreparedIssue) -> IssueResult:
        return IssueResult(self.outcomes.pop(0) if self.outcomes else Outcome.NOT_SENT, self.name)

    async def query_issue(self, prepared: PreparedIssue) -> IssueResult:
        return IssueResult(Outcome.IN_DOUBT, self.name)

    async def cancel(self, target: CancelTarget, motivo: str) -> CancelResult:
        return CancelResult(CancelOutcome.NOT_SENT, self.name)

    async def probe(self) -> Health:
        self.probes += 1
        if self.probe_delay_s:
            await asyncio.sleep(self.probe_delay_s)
        return self.health

    async def aclose(self) -> None:
        return None


def state(breaker: CircuitBreaker) -> BreakerState:
    """Read the state afresh (it moves with the clock)."""
    return breaker.state


def names(backends: list[FiscalBackend]) -> list[str]:
    return [b.name for b in backends]


def test_scripted_backend_satisfies_the_port() -> None:
    assert isinstance(ScriptedBackend("x"), FiscalBackend)


def test_breaker_opens_after_threshold_then_half_opens_after_cool_down() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=3, cool_down_s=30, clock=clock)
    for _ in range(2):
        breaker.record_failure()
        assert state(breaker) is BreakerState.CLOSED and breaker.allows_request()
    breaker.record_failure()
    assert state(breaker) is BreakerState.OPEN and not breaker.allows_request()
    clock.advance(29.9)
    assert state(breaker) is BreakerState.OPEN
    clock.advance(0.2)
    assert state(breaker) is BreakerState.HALF_OPEN and breaker.allows_request()
    breaker.record_failure()  # the trial failed: open again, a full cool-down
    assert state(breaker) is BreakerState.OPEN
    clock.advance(30.1)
    assert state(breaker) is BreakerState.HALF_OPEN
    breaker.record_success()
    assert state(breaker) is BreakerState.CLOSED and breaker.failures == 0


def test_success_resets_the_failure_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2, cool_down_s=10, clock=FakeClock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert state(breaker) is BreakerState.CLOSED


def test_announced_retry_after_outlasts_a_healthy_probe() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(failure_threshold=5, cool_down_s=1, clock=clock)
    breaker.record_failure(retry_after_s=300)
    assert not breaker.allows_request() and breaker.blocked_s() == 300
    breaker.reset()
    assert not breaker.allows_request()
    clock.advance(300)
    assert breaker.allows_request()


def test_order_skips_open_blocked_and_incapable_issuers() -> None:
    clock = FakeClock()
    emites, focus, integra, fast = (
        ScriptedBackend("emites"),
        ScriptedBackend("focusnfe"),
        ScriptedBackend("integranotas"),
        ScriptedBackend("fastnotas", issues_nfce=False),
    )
    router = FailoverRouter([emites, focus, integra, fast], failure_threshold=2, cool_down_s=60, clock=clock)
    assert names(router.ordered_for_issue()) == ["emites", "focusnfe", "integranotas"]
    router.record("emites", Outcome.NOT_SENT)
    router.record("emites", Outcome.IN_DOUBT)  # a timeout counts against the issuer too
    assert names(router.ordered_for_issue()) == ["focusnfe", "integranotas"]
    focus.blocked = 12.0  # the provider's own 429 block
    assert names(router.ordered_for_issue()) == ["integranotas"]
    router.record("integranotas", Outcome.NOT_SENT, retry_after_s=30)
    assert names(router.ordered_for_issue()) == []
    clock.advance(61)
    focus.blocked = 0.0
    assert names(router.ordered_for_issue()) == ["emites", "focusnfe", "integranotas"]
    assert router.breaker("emites").state is BreakerState.HALF_OPEN
    router.record("emites", Outcome.AUTHORIZED)
    assert router.breaker("emites").state is BreakerState.CLOSED
    router.record("focusnfe", CancelOutcome.REFUSED)  # a definitive answer is health
    assert router.breaker("focusnfe").failures == 0


def test_rejection_is_an_answer_not_a_failure() -> None:
    router = FailoverRouter([ScriptedBackend("a")], failure_threshold=1, clock=FakeClock())
    router.record("a", Outcome.REJECTED)
    assert names(router.ordered_for_issue()) == ["a"]


def test_only_not_sent_may_fail_over() -> None:
    assert may_fail_over(Outcome.NOT_SENT)
    assert not any(may_fail_over(o) for o in (Outcome.IN_DOUBT, Outcome.AUTHORIZED, Outcome.REJECTED))


def test_probes_close_and_open_breakers_concurrently_and_bounded() -> None:
    clock = FakeClock()
    up, down, slow = ScriptedBackend("up"), ScriptedBackend("down", Health.DOWN), ScriptedBackend("slow")
    slow.probe_delay_s = 5
    router = FailoverRouter(
        [up, down, slow], failure_threshold=1, cool_down_s=60, probe_timeout_s=0.2, clock=clock
    )
    router.record("up", Outcome.NOT_SENT)
    assert router.breaker("up").state is BreakerState.OPEN

    result = asyncio.run(router.probe_all())

    assert result == {"up": Health.UP, "down": Health.DOWN, "slow": Health.DOWN}
    assert router.breaker("up").state is BreakerState.CLOSED
    assert router.breaker("down").state is BreakerState.OPEN
    assert router.health("slow") is Health.DOWN
    assert names(router.ordered_for_issue()) == ["up"]


def test_get_finds_the_issuer_by_name_and_config_errors_are_clear() -> None:
    a = ScriptedBackend("focusnfe")
    router = FailoverRouter([a])
    assert router.get("focusnfe") is a
    with pytest.raises(BackendMisconfigured) as missing:
        router.get("integranotas")
    assert "integranotas" in missing.value.user_message
    with pytest.raises(BackendMisconfigured):
        FailoverRouter([ScriptedBackend("x"), ScriptedBackend("x")])


# -- end to end with the simulators -----------------------------------------------------------

FOCUS_TOKEN = "focus-router-token-000000"
INTEGRA_TOKEN = "integra-router-token-00000"


_NUMBERS = itertools.count(1)


async def issue_with_failover(router: FailoverRouter, sale: Sale) -> tuple[IssueResult, list[str]]:
    """What the issue service does: try issuers in order, move on only on NOT_SENT."""
    tried: list[str] = []
    result = IssueResult(Outcome.NOT_SENT, "none")
    for backend in router.ordered_for_issue():
        numbering: dict[str, Any] = {}
        if backend.capabilities.needs_client_numbering:
            numbering = {"serie": 2, "numero": next(_NUMBERS)}
        context = IssueContext(sale=sale, reference=sale.sale_id, emitted_at=datetime.now(UTC), **numbering)
        prepared = backend.prepare_issue(context)
        result = await backend.send_issue(prepared)
        router.record(backend.name, result.outcome, retry_after_s=result.retry_after_s)
        tried.append(backend.name)
        if not may_fail_over(result.outcome):
            break
    return result, tried


@asynccontextmanager
async def provider_router(focus_port: int, integra_url: str) -> AsyncIterator[FailoverRouter]:
    """Focus then Integra behind a router; their HTTP clients are closed on the way out."""
    config = Config()
    focus = FocusNfeBackend(
        ProviderConfig(name="focusnfe", base_url=f"http://127.0.0.1:{focus_port}", timeout_s=2),
        config,
        token=FOCUS_TOKEN,
    )
    integra = IntegraNotasBackend(
        ProviderConfig(name="integranotas", base_url=integra_url, timeout_s=2),
        config,
        token=INTEGRA_TOKEN,
        enforce_min_timeout=False,
    )
    router = FailoverRouter([focus, integra])
    try:
        yield router
    finally:
        for backend in router.backends:
            await backend.aclose()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_unreachable_first_issuer_fails_over_to_the_next() -> None:
    with IntegraNotasSimulator(token=INTEGRA_TOKEN) as integra:

        async def scenario() -> None:
            async with provider_router(free_port(), integra.url) as router:
                result, tried = await issue_with_failover(
                    router, Sale.from_mapping(sale_mapping(), sale_id="s1")
                )
            assert tried == ["focusnfe", "integranotas"]
            assert result.outcome is Outcome.AUTHORIZED and result.backend == "integranotas"

        asyncio.run(scenario())
        assert len(integra.documents) == 1


def test_in_doubt_stays_with_the_issuer_that_got_it_and_is_reconciled_there() -> None:
    with FocusNfeSimulator(token=FOCUS_TOKEN) as focus, IntegraNotasSimulator(token=INTEGRA_TOKEN) as integra:
        focus.faults.drop_after_accept = True

        async def scenario() -> None:
            async with provider_router(focus.port, integra.url) as router:
                sale = Sale.from_mapping(sale_mapping(), sale_id="s2")
                result, tried = await issue_with_failover(router, sale)
                assert tried == ["focusnfe"] and result.outcome is Outcome.IN_DOUBT
                focus.faults.clear()
                owner = router.get(result.backend)
                prepared = owner.prepare_issue(IssueContext(sale=sale, reference="s2"))
                reconciled = await owner.query_issue(prepared)
                assert reconciled.outcome is Outcome.AUTHORIZED and reconciled.backend == "focusnfe"

        asyncio.run(scenario())
        assert len(focus.issued()) == 1
        assert integra.requests == []  # never offered to the second issuer


def test_rate_limited_issuer_is_skipped_without_a_request() -> None:
    with FocusNfeSimulator(token=FOCUS_TOKEN) as focus, IntegraNotasSimulator(token=INTEGRA_TOKEN) as integra:
        focus.faults.rate_limit = True
        focus.faults.retry_after_s = 120

        async def scenario() -> None:
            async with provider_router(focus.port, integra.url) as router:
                first, tried = await issue_with_failover(
                    router, Sale.from_mapping(sale_mapping(), sale_id="a1")
                )
                assert tried == ["focusnfe", "integranotas"] and first.outcome is Outcome.AUTHORIZED
                seen = len(focus.requests)
                second, tried = await issue_with_failover(
                    router, Sale.from_mapping(sale_mapping(), sale_id="a2")
                )
                assert tried == ["integranotas"] and second.outcome is Outcome.AUTHORIZED
                assert len(focus.requests) == seen
                assert router.breaker("focusnfe").blocked_s() > 100

        asyncio.run(scenario())
