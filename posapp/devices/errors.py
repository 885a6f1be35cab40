"""Errors of the devices at the counter (scanner, cash drawer, later the scale)."""

from __future__ import annotations

from posapp.errors import PosappError


class DeviceError(PosappError):
    """Base of device errors."""


class DrawerError(DeviceError):
    """The cash drawer could not be kicked: its link (the receipt printer or its own port)
    failed. Nothing about the sale changes; the cashier opens the drawer with the key."""
