"""Operators on a real store file: PIN hashing, login, manager override, lockout, audit."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from posapp.catalog.storedb import StoreDB
from posapp.domain.audit import Action
from posapp.operators.accounts import MAX_FAILURES, Operators, Role
from posapp.operators.audit import AuditLog
from posapp.operators.errors import AuthenticationFailed, InvalidOperatorData, TooManyAttempts
from posapp.operators.pins import hash_pin, needs_rehash, verify_pin


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


Setup = tuple[Operators, AuditLog, Clock, StoreDB]


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    store = StoreDB(tmp_path / "store.sqlite3")
    audit = AuditLog(store)
    clock = Clock()
    ops = Operators(store, audit, clock=clock)
    ops.create("gerente", "Gerente Demo", Role.MANAGER, "1234")
    ops.create("caixa", "Caixa Um", Role.CASHIER, "0000")
    yield ops, audit, clock, store
    store.close()


def test_pin_hash_is_salted_slow_and_verifies() -> None:
    first, second = hash_pin("1234"), hash_pin("1234")
    assert first != second
    assert "1234" not in first
    assert first.startswith("scrypt$16384$8$1$")
    assert verify_pin("1234", first) and verify_pin("1234", second)
    assert not verify_pin("1235", first)
    assert not verify_pin("1234", "garbage")
    assert not verify_pin("1234", "bcrypt$1$2$3$AAAA$AAAA")
    assert not needs_rehash(first)
    assert needs_rehash(hash_pin("1234", n=2**10))


def test_pins_are_not_stored_in_clear(setup: Setup) -> None:
    _, _, _, store = setup
    with store.reading() as conn:
        hashes = [row[0] for row in conn.execute("SELECT pin_hash FROM operators")]
    assert len(hashes) == 2
    assert all(h.startswith("scrypt$") and "1234" not in h and "0000" not in h for h in hashes)


def test_login_and_failures_are_audited(setup: Setup) -> None:
    ops, audit, _, _ = setup
    operator = ops.authenticate("Caixa ", "0000")
    assert (operator.login, operator.role, operator.is_manager) == ("caixa", Role.CASHIER, False)
    with pytest.raises(AuthenticationFailed) as info:
        ops.authenticate("caixa", "9999")
    assert info.value.user_message == "Operador ou PIN inválido."
    with pytest.raises(AuthenticationFailed):
        ops.authenticate("ninguem", "0000")
    actions = [(e.action, e.operator) for e in audit.entries()]
    assert actions[:3] == [("login_failed", "ninguem"), ("login_failed", "caixa"), ("login", "caixa")]


def test_inactive_operator_cannot_log_in(setup: Setup) -> None:
    ops, _, _, _ = setup
    ops.set_active("caixa", False, changed_by="gerente")
    with pytest.raises(AuthenticationFailed):
        ops.authenticate("caixa", "0000")
    assert [o.login for o in ops.accounts()] == ["gerente"]
    assert {o.login for o in ops.accounts(include_inactive=True)} == {"gerente", "caixa"}


def test_lockout_after_repeated_failures(setup: Setup) -> None:
    ops, _, clock, _ = setup
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthenticationFailed):
            ops.authenticate("caixa", "1111")
    with pytest.raises(TooManyAttempts) as info:
        ops.authenticate("caixa", "0000")  # even the right PIN waits
    assert "Aguarde" in info.value.user_message
    clock.now += timedelta(seconds=61)
    assert ops.authenticate("caixa", "0000").login == "caixa"


def test_manager_override_by_pin_alone(setup: Setup) -> None:
    ops, audit, _, _ = setup
    manager = ops.authorize_manager(
        "1234", action=Action.VOID_LINE, operator="caixa", sale_id="s1", detail="item 2"
    )
    assert manager.login == "gerente"
    with pytest.raises(AuthenticationFailed):
        ops.authorize_manager("0000", action=Action.VOID_LINE, operator="caixa")  # a cashier's PIN
    newest, previous = audit.entries()[:2]
    assert (newest.action, newest.operator, newest.authorized_by) == ("override_failed", "caixa", None)
    assert (
        previous.action,
        previous.operator,
        previous.authorized_by,
        previous.sale_id,
        previous.detail,
    ) == (
        "void_line",
        "caixa",
        "gerente",
        "s1",
        "item 2",
    )


def test_bad_operator_data(setup: Setup) -> None:
    ops, _, _, _ = setup
    with pytest.raises(InvalidOperatorData):
        ops.create("caixa", "Outro", Role.CASHIER, "1234")
    with pytest.raises(InvalidOperatorData):
        ops.create("Com Espaço", "X", Role.CASHIER, "1234")
    with pytest.raises(InvalidOperatorData):
        ops.create("novo", "Novo", Role.CASHIER, "12")
    with pytest.raises(InvalidOperatorData):
        ops.set_pin("ninguem", "1234")
    ops.set_pin("caixa", "4321", changed_by="gerente")
    assert ops.authenticate("caixa", "4321").login == "caixa"


def test_audit_log_is_append_only(setup: Setup) -> None:
    _, _, _, store = setup
    with pytest.raises(sqlite3.DatabaseError), store.transaction() as conn:
        conn.execute("UPDATE audit_log SET detail = 'x'")
    with pytest.raises(sqlite3.DatabaseError), store.transaction() as conn:
        conn.execute("DELETE FROM audit_log")


def test_lockout_survives_a_restart(tmp_path: Path) -> None:
    clock = Clock()
    store = StoreDB(tmp_path / "store.sqlite3")
    ops = Operators(store, AuditLog(store), clock=clock)
    ops.create("caixa", "Caixa Um", Role.CASHIER, "0000")
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthenticationFailed):
            ops.authenticate("caixa", "1111")
    store.close()

    store = StoreDB(tmp_path / "store.sqlite3")  # the app was closed and opened again
    try:
        ops = Operators(store, AuditLog(store), clock=clock)
        with pytest.raises(TooManyAttempts):
            ops.authenticate("caixa", "0000")
        clock.now += timedelta(seconds=61)
        assert ops.authenticate("caixa", "0000").login == "caixa"
        assert ops.failures("login:caixa") == 0  # a success starts a fresh count
    finally:
        store.close()


def test_override_failures_count_per_operator_and_persist(setup: Setup, tmp_path: Path) -> None:
    ops, audit, clock, store = setup
    ops.create("caixa2", "Caixa Dois", Role.CASHIER, "2222")
    for _ in range(MAX_FAILURES):
        with pytest.raises(AuthenticationFailed):
            ops.check_manager_pin("9999", operator="caixa")
    with pytest.raises(TooManyAttempts):
        ops.check_manager_pin("1234", operator="caixa")  # even the right PIN waits
    restarted = Operators(store, audit, clock=clock)
    with pytest.raises(TooManyAttempts):
        restarted.authorize_manager("1234", action=Action.VOID_LINE, operator="caixa")
    # Another operator's requests are counted on their own.
    assert restarted.check_manager_pin("1234", operator="caixa2").login == "gerente"
    failed = [e for e in audit.entries() if e.action == Action.OVERRIDE_FAILED]
    assert len(failed) == MAX_FAILURES and {e.operator for e in failed} == {"caixa"}


def _median_seconds(call: Callable[[], object], repeat: int = 5) -> float:
    import statistics
    import time

    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        with pytest.raises(AuthenticationFailed):
            call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def test_unknown_and_inactive_logins_cost_a_pin_check(setup: Setup) -> None:
    """No timing oracle: refusing an unknown (or inactive) login takes a scrypt too."""
    ops, _, clock, _ = setup
    ops.create("inativo", "Inativo", Role.CASHIER, "5555")
    ops.set_active("inativo", False)
    known = _median_seconds(lambda: ops.authenticate("caixa", "1111"))
    clock.now += timedelta(minutes=5)  # no lockout in the way
    unknown = _median_seconds(lambda: ops.authenticate("ninguem", "1111"))
    clock.now += timedelta(minutes=5)
    inactive = _median_seconds(lambda: ops.authenticate("inativo", "5555"))
    # Without the dummy check an unknown login answers in well under a millisecond while a
    # scrypt takes tens; a third of the known-login time leaves room for a noisy machine.
    assert known > 0.005
    assert unknown > known / 3, (known, unknown)
    assert inactive > known / 3, (known, inactive)
