"""Errors of the simulators themselves (not of the fiscal flow they imitate).

A simulator answers bad *requests* on the wire, the way the real peer would; these
exceptions are for bad *use* of the simulator API (a :class:`~posapp.sim.nfce_xml.SimNote`
whose chave contradicts its own fields, a port file that cannot be written).
"""

from __future__ import annotations

from posapp.errors import PosappError


class SimulatorError(PosappError):
    """The simulator was asked for something inconsistent; a bug in the caller or a test."""


class WireError(PosappError):
    """A peer sent bytes that are not a ``Size:Identifier:Payload`` frame (the simulator's
    own error: it shares no code with the client's :mod:`posapp.protocol`)."""
