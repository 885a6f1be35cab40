"""The fiscal month for a manager (Ctrl+F9): check a month, export the accountant's ZIP with a
progress bar, see the number gaps, inutilize a range and ask about the ones in doubt.

Everything slow runs off the GUI thread: the journal on its own thread, the ZIP on a worker
thread (:mod:`posapp.services.fiscal_month`), the issuers on the event loop; the progress
callback comes from a worker thread and reaches the bar through the loop.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path
from typing import Any

from posapp.services.core import Authorization
from posapp.services.fiscal_month import ExportReport, Month, MonthPlan, export_month, plan_month
from posapp.services.inutilizacao import Inutilizacoes
from posapp.services.number_gaps import SerieGaps
from posapp.ui.context import AppContext
from posapp.ui.errors import error_text
from posapp.ui.qt import (
    QCheckBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QSpinBox,
    Qt,
    QVBoxLayout,
    QWidget,
    tr,
)
from posapp.ui.tasks import async_slot
from posapp.ui.widgets import fit_to_screen, key_button, set_role

log = logging.getLogger("posapp.ui")

GAP_ROLE = int(Qt.ItemDataRole.UserRole)


def previous_month(now: datetime, ctx: AppContext) -> Month:
    """The month an accountant asks for: the one before today's, in the store's zone."""
    local = now.astimezone(ctx.config.store.tz)
    return Month(local.year - (local.month == 1), 12 if local.month == 1 else local.month - 1)


class FiscalMonthDialog(QDialog):
    """``by``: the manager who opened it (the export and every inutilização are audited)."""

    def __init__(self, ctx: AppContext, by: Authorization, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.by = by
        self.inut = Inutilizacoes(ctx.service.core)
        self.plan: MonthPlan | None = None
        self.last_export: ExportReport | None = None
        self.setWindowTitle(tr("Fiscal do mês — contador, lacunas e inutilização"))
        layout = QVBoxLayout(self)

        top = QHBoxLayout()
        top.addWidget(QLabel(tr("Mês (AAAA-MM):"), self))
        self.month = QLineEdit(previous_month(ctx.service.now(), ctx).text, self)
        self.month.setMaxLength(7)
        self.month.setFixedWidth(170)  # AAAA-MM in the counter's 20 px font and padding (120 px cut it)
        top.addWidget(self.month)
        self.check_button = key_button(tr("Conferir"), "F2", self.check, parent=self)
        top.addWidget(self.check_button)
        top.addStretch(1)
        layout.addLayout(top)

        self.summary = QLabel("", self)
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)

        out = QHBoxLayout()
        out.addWidget(QLabel(tr("Arquivo:"), self))
        self.path = QLineEdit(self)
        out.addWidget(self.path, 1)
        layout.addLayout(out)
        options = QHBoxLayout()
        self.allow_pending = QCheckBox(tr("Exportar mesmo com vendas pendentes"), self)
        options.addWidget(self.allow_pending)
        options.addStretch(1)
        self.export_button = key_button(tr("Exportar ZIP"), "F4", self.export, parent=self, role="primary")
        options.addWidget(self.export_button)
        layout.addLayout(options)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        layout.addWidget(self.progress)

        layout.addWidget(QLabel(tr("Lacunas de numeração e inutilizações:"), self))
        self.gaps = QListWidget(self)
        self.gaps.setMinimumHeight(120)
        self.gaps.currentItemChanged.connect(self._gap_chosen)
        layout.addWidget(self.gaps, 1)

        form = QGridLayout()
        form.addWidget(QLabel(tr("Série"), self), 0, 0)
        form.addWidget(QLabel(tr("De"), self), 0, 1)
        form.addWidget(QLabel(tr("Até"), self), 0, 2)
        self.serie, self.first, self.last = (QSpinBox(self) for _ in range(3))
        self.serie.setRange(0, 999)
        for box in (self.first, self.last):
            box.setRange(1, 999_999_999)
        form.addWidget(self.serie, 1, 0)
        form.addWidget(self.first, 1, 1)
        form.addWidget(self.last, 1, 2)
        self.justificativa = QLineEdit(self)
        self.justificativa.setMaxLength(255)
        self.justificativa.setPlaceholderText(tr("Justificativa (15 a 255 caracteres)"))
        form.addWidget(self.justificativa, 2, 0, 1, 3)
        layout.addLayout(form)
        actions = QHBoxLayout()
        self.inut_button = key_button(tr("Inutilizar faixa"), "F8", self.inutilizar, parent=self)
        self.settle_button = key_button(tr("Consultar em dúvida"), "F6", self.settle, parent=self)
        close = key_button(tr("Fechar"), "Esc", self.reject, parent=self)
        actions.addWidget(self.inut_button)
        actions.addWidget(self.settle_button)
        actions.addStretch(1)
        actions.addWidget(close)
        layout.addLayout(actions)
        self.outcome = QLabel("", self)
        self.outcome.setWordWrap(True)
        layout.addWidget(self.outcome)
        self._busy = False
        self._suggest_path()
        fit_to_screen(self)

    # -- helpers --------------------------------------------------------------------------

    def _suggest_path(self) -> None:
        self.path.setText(str(Path.home() / f"nfce-{self.month.text().strip()}.zip"))

    def say(self, text: str, role: str | None = None) -> None:
        self.outcome.setText(text)
        set_role(self.outcome, role)

    def _set_busy(self, busy: bool) -> None:
        self._busy = busy
        for button in (self.check_button, self.export_button, self.inut_button, self.settle_button):
            button.setEnabled(not busy)

    def _target(self) -> Path:
        return Path(self.path.text().strip()).expanduser()

    def _month(self) -> Month | None:
        try:
            return Month.parse(self.month.text())
        except Exception as exc:
            self.say(error_text(exc), "error")
            return None

    def _show_gaps(self, series: tuple[SerieGaps, ...] | list[SerieGaps]) -> None:
        self.gaps.clear()
        for serie in series:
            # The série's note once, as a heading nobody can pick; its rows stay short.
            heading = QListWidgetItem(tr("Série ") + f"{serie.serie} — " + serie.note())
            heading.setFlags(Qt.ItemFlag.NoItemFlags)
            self.gaps.addItem(heading)
            for first, last in serie.gaps:
                span = f"{first}" if first == last else f"{first} a {last}"
                item = QListWidgetItem(tr("Série ") + f"{serie.serie}: " + span + tr(" — a inutilizar"))
                item.setData(GAP_ROLE, (serie.serie, first, last))
                item.setToolTip(serie.note())
                self.gaps.addItem(item)
            for row in serie.in_flight:
                self.gaps.addItem(
                    tr("Série ")
                    + f"{serie.serie}: {row.range.first} a {row.range.last} — "
                    + tr("inutilização ")
                    + row.state.label
                    + tr(" (consulte antes de repetir)")
                )
            for row in serie.inutilizadas:
                self.gaps.addItem(
                    tr("Série ")
                    + f"{serie.serie}: {row.range.first} a {row.range.last} — "
                    + tr("inutilizada, protocolo ")
                    + (row.protocolo or "?")
                )
        if self.gaps.count() == 0:
            self.gaps.addItem(tr("Nenhuma lacuna de numeração."))

    async def _refresh_gaps(self) -> None:
        try:
            self._show_gaps(await self.inut.gaps())
        except Exception as exc:  # the answer is recorded; only the list could not be read
            self.say(error_text(exc), "error")

    def _gap_chosen(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        data: Any = item.data(GAP_ROLE) if item is not None else None
        if isinstance(data, tuple) and len(data) == 3:
            serie, first, last = data
            self.serie.setValue(serie)
            self.first.setValue(first)
            self.last.setValue(last)

    # -- actions --------------------------------------------------------------------------

    @async_slot
    async def check(self) -> None:
        month = self._month()
        if month is None or self._busy:
            return
        self._set_busy(True)
        self.say(tr("Conferindo ") + month.text + "…")
        try:
            self.plan = plan = await plan_month(self.ctx.service.core, self.inut, month)
        except Exception as exc:
            self.say(error_text(exc), "error")
            return
        finally:
            self._set_busy(False)
        self._suggest_path()
        pending = len(plan.pending)
        self.summary.setText(
            f"{plan.month.text} ({plan.tz_name}): {plan.authorized_count} "
            + tr("autorizada(s), ")
            + f"{plan.cancelled_count} "
            + tr("cancelada(s), ")
            + f"{len(plan.inutilizacoes)} "
            + tr("inutilização(ões); ")
            + (tr("PENDENTES: ") + str(pending) if pending else tr("nenhuma venda pendente."))
            + "".join("\n• " + p for p in plan.problems[:5])
        )
        set_role(self.summary, "warning" if pending or plan.problems else None)
        self._show_gaps(plan.gaps)
        self.say(tr("Conferido. Exporte com F4."))

    @async_slot
    async def export(self) -> None:
        month = self._month()
        if month is None or self._busy:
            return
        target = self._target()
        if target.suffix.lower() != ".zip":
            self.say(tr("O arquivo deve terminar em .zip."), "error")
            return
        self._set_busy(True)
        loop = asyncio.get_running_loop()

        def progress(done: int, total: int) -> None:  # from a worker thread
            loop.call_soon_threadsafe(self._progress, done, total)

        self.say(tr("Exportando ") + month.text + "…")
        try:
            plan = self.plan if self.plan is not None and self.plan.month == month else None
            report = await export_month(
                self.ctx.service.core,
                self.inut,
                month,
                target,
                by=self.by,
                allow_pending=self.allow_pending.isChecked(),
                plan=plan,
                progress=progress,
            )
        except Exception as exc:
            self.say(error_text(exc), "error")
            return
        finally:
            self._set_busy(False)
        self.last_export = report
        if report.path is None:
            self.say(
                f"{len(report.plan.pending)} "
                + tr("venda(s) pendente(s) no mês: nada foi exportado. Resolva-as em Vendas (F12) ou marque ")
                + tr("'Exportar mesmo com vendas pendentes'."),
                "warning",
            )
            return
        self._progress(1, 1)
        warned = tr(" Avisos: ") + str(len(report.warnings)) if report.warnings else ""
        self.say(
            tr("Exportado: ")
            + str(report.path)
            + f" ({len(report.plan.notes)} "
            + tr("nota(s), conferido).")
            + warned,
            "warning" if report.warnings or not report.verified else None,
        )

    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    @async_slot
    async def inutilizar(self) -> None:
        if self._busy:
            return
        serie, first, last = self.serie.value(), self.first.value(), self.last.value()
        self._set_busy(True)
        self.say(tr("Enviando a inutilização…"))
        try:
            report = await self.inut.request(serie, first, last, self.justificativa.text(), by=self.by)
        except Exception as exc:
            self.say(error_text(exc), "error")
            return
        finally:
            self._set_busy(False)
        self.plan = None  # the month's export must show this inutilização: plan again
        await self._refresh_gaps()  # the list first: the message is the last thing to change
        self.say(tr(report.message), None if report.state.value == "done" else "warning")

    @async_slot
    async def settle(self) -> None:
        if self._busy:
            return
        self._set_busy(True)
        try:
            reports = await self.inut.settle()
        except Exception as exc:
            self.say(error_text(exc), "error")
            return
        finally:
            self._set_busy(False)
        self.plan = None
        await self._refresh_gaps()
        self.say(" ".join(r.message for r in reports) or tr("Nenhuma inutilização em dúvida."))

    async def aclose(self) -> None:
        await self.inut.aclose()
