"""Loopback simulators of the fiscal peers, for ``posapp demo`` and the test-suite.

* :mod:`posapp.sim.emites`: the Emites-Client daemon (TCP, ``Size:Identifier:Payload``),
  with fault knobs; its decisions live in :mod:`posapp.sim.emites_engine` and
  :mod:`posapp.sim.emites_validation`.
* :mod:`posapp.sim.nfce_xml` and :mod:`posapp.sim.danfe_pdf`: the authorized NFC-e XML,
  the cancel event and the DANFE PDF the simulators return, built from plain data.
* :mod:`posapp.sim.focusnfe`, :mod:`posapp.sim.integranotas`: the online providers (HTTP).

Importing this package imports nothing heavy; import the submodule you need.
"""
