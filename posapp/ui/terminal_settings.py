"""Settings of *this* terminal that the fiscal configuration file does not cover: the
serial scanner, the scale-label layout, which cashier actions need a manager, and the
discount each role may give without a manager's PIN.

They live in ``store.sqlite3`` (key ``terminal``), edited in the settings dialog.
"""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from posapp.catalog.scale import ScaleLabelLayout
from posapp.catalog.storedb import StoreDB
from posapp.operators.accounts import Role

KEY = "terminal"
BAUD_RATES = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


class TerminalSettings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    scanner_port: str | None = None  # e.g. /dev/ttyACM0 or COM3; None: keyboard wedge only
    scanner_baudrate: int = Field(default=9600, gt=0)
    scale: ScaleLabelLayout = ScaleLabelLayout()
    manager_for_void_line: bool = True
    manager_for_abort: bool = True
    manager_for_cash: bool = True  # sangria and suprimento
    #: The largest discount (percent of the line, or of the sale after its lines' own
    #: discounts) each role gives alone; above it a manager's PIN is asked. 100: no limit.
    discount_limit_cashier: Decimal = Field(default=Decimal("5"), ge=0, le=100, decimal_places=2)
    discount_limit_manager: Decimal = Field(default=Decimal("100"), ge=0, le=100, decimal_places=2)
    health_poll_s: float = Field(default=15.0, gt=0)
    drain_every_s: float = Field(default=15.0, gt=0)

    def discount_limit(self, role: Role | None) -> Decimal:
        """The percent ``role`` may give without a manager's PIN (nobody logged in: none)."""
        if role is Role.MANAGER:
            return self.discount_limit_manager
        return self.discount_limit_cashier if role is Role.CASHIER else Decimal(0)


def load_terminal_settings(store: StoreDB) -> TerminalSettings:
    """The stored settings; unreadable ones fall back to defaults (never block the start).
    The discount limits are the store's when it published them (posapp/store_settings.py)."""
    try:
        settings = TerminalSettings.model_validate(store.get_setting(KEY, {}) or {})
    except ValidationError:
        settings = TerminalSettings()
    from posapp.store_settings import local_state

    shared = local_state(store).settings
    if shared is None or shared.discounts is None:
        return settings
    return settings.model_copy(
        update={
            "discount_limit_cashier": shared.discounts.cashier,
            "discount_limit_manager": shared.discounts.manager,
        }
    )


def save_terminal_settings(store: StoreDB, settings: TerminalSettings) -> None:
    store.set_setting(KEY, settings.model_dump(mode="json"))
