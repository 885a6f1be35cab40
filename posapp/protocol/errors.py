"""Protocol errors, split as h11 splits them.

* :class:`LocalProtocolError`: *we* were about to break the protocol (a payload that
  cannot be encoded, an identifier with a bad character). Nothing was sent.
* :class:`RemoteProtocolError`: the peer broke it (bad size header, oversized frame,
  unparseable JSON). If it happens after our request was written, the outcome of that
  request is unknown.
"""

from __future__ import annotations

from posapp.errors import PosappError


class ProtocolError(PosappError):
    """Base of every protocol error; garbage from the wire raises only this family."""


class LocalProtocolError(ProtocolError):
    """We tried to send something the protocol does not allow."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol does not allow."""
