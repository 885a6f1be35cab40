"""The store's fiscal month for the accountant (issue 15 item 1): one ZIP with every NFC-e
emitted in the month as the issuer returned it, the cancel events, the inutilizações, a
summary, the totals, the number gaps and what is still pending. Qt-free: ``posapp fiscal
export`` and the GUI's fiscal month dialog call :func:`plan_month` and :func:`export_month`.

One job per module:

* :mod:`.plan`: the month (:class:`Month`) and what its export holds (:class:`MonthPlan`,
  :func:`plan_month`), read from the journal; the month is the store's;
* :mod:`.files`: the CSVs and ``LEIAME.txt``, pure functions of a plan;
* :mod:`.export`: the ZIP written, read back, verified and renamed into place, and the
  export recorded (:func:`export_month`).

**Layout.** ``NFCe/<chave>-nfce.xml`` (``nfeProc``; cancelled notes too, they were
authorized), ``Eventos/<chave>-cancelamento.xml`` (``procEventoNFe``),
``Inutilizacoes/<série>-<first>-<last>.xml`` (``procInutNFe``), ``resumo.csv``,
``totais.csv``, ``lacunas.csv``, ``pendencias.csv`` and ``LEIAME.txt``.

Reading happens on the journal's thread in small batches, writing on a worker thread, so a
till that sells during an export is not held up, and the GUI thread never blocks.
"""

from __future__ import annotations

from posapp.services.fiscal_month.export import (
    BATCH,
    ExportError,
    ExportReport,
    Progress,
    export_month,
)
from posapp.services.fiscal_month.files import (
    SUMMARY_HEADER,
    gaps_csv,
    pending_csv,
    readme,
    summary_csv,
    totals_csv,
)
from posapp.services.fiscal_month.plan import (
    LOOKBACK,
    InvalidMonth,
    Month,
    MonthPlan,
    NoteEntry,
    PendingEntry,
    plan_month,
)

__all__ = [
    "BATCH",
    "LOOKBACK",
    "SUMMARY_HEADER",
    "ExportError",
    "ExportReport",
    "InvalidMonth",
    "Month",
    "MonthPlan",
    "NoteEntry",
    "PendingEntry",
    "Progress",
    "export_month",
    "gaps_csv",
    "pending_csv",
    "plan_month",
    "readme",
    "summary_csv",
    "totals_csv",
]
