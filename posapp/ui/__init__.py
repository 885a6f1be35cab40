"""The cashier's and the manager's screens (PySide6 + qasync).

Thin views over view-models; the view-models call the headless core
(:class:`posapp.services.pos.PosService`, the catalog and operators stores) and never do
fiscal work themselves. Every Qt name comes from :mod:`posapp.ui.qt`; every blocking call
(SQLite, PIN hashing, serial ports, image rendering) runs off the GUI thread.
"""
