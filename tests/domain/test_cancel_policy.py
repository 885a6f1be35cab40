from datetime import UTC, datetime, timedelta

import pytest

from posapp.domain.cancel import CancelPolicy, check_motivo
from posapp.domain.errors import CancelWindowClosed, InvalidMotivo

AUTHORIZED_AT = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_window() -> None:
    policy = CancelPolicy(window=timedelta(minutes=30), safety_margin=timedelta(seconds=60))
    assert policy.deadline(AUTHORIZED_AT) == AUTHORIZED_AT + timedelta(minutes=29)
    policy.check_window(AUTHORIZED_AT, AUTHORIZED_AT + timedelta(minutes=28, seconds=59))
    with pytest.raises(CancelWindowClosed) as info:
        policy.check_window(AUTHORIZED_AT, AUTHORIZED_AT + timedelta(minutes=29))
    assert "30 minutos" in info.value.user_message
    assert policy.remaining(AUTHORIZED_AT, AUTHORIZED_AT + timedelta(hours=1)) == timedelta(0)
    assert policy.clock_behind(AUTHORIZED_AT, AUTHORIZED_AT - timedelta(minutes=10))


def test_motivo_length() -> None:
    assert check_motivo("  Desistencia   do comprador ") == "Desistencia do comprador"
    with pytest.raises(InvalidMotivo):
        check_motivo("curto demais")
    with pytest.raises(InvalidMotivo):
        check_motivo("x" * 256)
    assert check_motivo("x" * 255) == "x" * 255
