"""Errors of the pure domain: bad input that must be fixed before anything is sent."""

from __future__ import annotations

from posapp.errors import PosappError


class DomainError(PosappError):
    """A value broke a business rule. Nothing was stored or sent."""


class InvalidDocument(DomainError):
    """A CPF, CNPJ or chave de acesso failed its format or check digits."""


class InvalidSale(DomainError):
    """A sale cannot become an NFC-e as it stands (no items, unpaid, item without NCM...)."""


class IllegalMove(DomainError):
    """A sale was asked to make a move the lifecycle (:mod:`posapp.domain.lifecycle`) does
    not allow from its state; nothing changed."""


class CancelRefused(DomainError):
    """A cancel was refused locally (window closed or bad *motivo*); nothing was sent."""


class CancelWindowClosed(CancelRefused):
    """The legal cancel window (minus the safety margin) has passed."""


class InvalidMotivo(CancelRefused):
    """The *motivo* (xJust) is shorter than 15 or longer than 255 characters."""
