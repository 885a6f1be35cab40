"""Screenshots for the README, taken from the real widgets on a real X server, at the
size of a till's screen.

    xvfb-run -s "-screen 0 1024x768x24" env QT_QPA_PLATFORM=xcb \
        .venv/bin/python scripts/screenshots.py --size 1024x768
    xvfb-run -s "-screen 0 1366x768x24" env QT_QPA_PLATFORM=xcb \
        .venv/bin/python scripts/screenshots.py --size 1366x768 --out docs/screenshots/1366x768

The windows are maximized to the screen (never resized to a fixed larger size), and each
shot is the whole screen, dialogs over the checkout as the cashier sees them. The screen
must have the size given (``--size``): a shot of another size would hide what does not fit.

Runs the demo set-up (Emites-Client simulator on loopback, on-screen printer, sample
catalog, demo operators) in a throw-away folder, rings up real sales through the
checkout's own code paths, and saves:

* ``checkout.png`` — the checkout with a cart;
* ``payment.png`` — the payment dialog with a split payment and change;
* ``receipt.png`` — the authorized-sale screen with the receipt preview;
* ``history.png`` — the sales history with the cancel countdown.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from posapp.app import service_factory, start_simulator  # noqa: E402
from posapp.domain.payments import PaymentMethod  # noqa: E402
from posapp.ui.demo import demo_config, prepare_demo_data  # noqa: E402
from posapp.ui.history import HistoryDialog  # noqa: E402
from posapp.ui.issue_dialog import IssueDialog  # noqa: E402
from posapp.ui.main import open_context, run_loop  # noqa: E402
from posapp.ui.main_window import MainWindow  # noqa: E402
from posapp.ui.payment_dialog import PaymentDialog  # noqa: E402
from posapp.ui.qt import QApplication, QGuiApplication, QWidget  # noqa: E402

SALES = (
    ("3*7891000315507", "7898621001017", "7891153002125", "7894407002865", "0,750*1020", "7896102005080"),
    ("7898621002397", "2*7896102006469", "7891000015711"),
    ("7893318003602", "7895566016182"),
)


async def wait_for(predicate: object, seconds: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not predicate():  # type: ignore[operator]
        if loop.time() > deadline:
            raise TimeoutError("screen did not reach the expected state")
        await asyncio.sleep(0.02)


def top(kind: type[QWidget]) -> QWidget | None:
    return next((w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()), None)


def save(widget: QWidget, path: Path) -> None:
    """The whole screen, as the cashier sees it (``widget`` is the window in front)."""
    QApplication.processEvents()
    screen = widget.screen() or QGuiApplication.primaryScreen()
    screen.grabWindow(0).save(str(path))
    print(f"wrote {path}")


def maximize(window: QWidget) -> None:
    """Maximized to the screen; without a window manager (bare Xvfb) that means the
    screen's whole available area."""
    window.showMaximized()
    QApplication.processEvents()
    screen = window.screen() or QGuiApplication.primaryScreen()
    if not window.isMaximized() or window.size() != screen.availableGeometry().size():
        window.setGeometry(screen.availableGeometry())


async def ring_up(window: MainWindow, codes: tuple[str, ...]) -> None:
    for code in codes:
        window.vm.submit(code)
    await window.vm.scans.wait_idle()


async def pay_and_issue(
    window: MainWindow, tenders: list[tuple[PaymentMethod, str]], *, shot: Path | None = None
) -> IssueDialog:
    task = window.issue_flow.on_pay()
    await wait_for(lambda: top(PaymentDialog) is not None)
    payment = top(PaymentDialog)
    assert isinstance(payment, PaymentDialog)
    for method, amount in tenders:
        payment.select_method(method)
        payment.amount.setText(amount)
        payment.add_tender()
    if shot is not None:
        await asyncio.sleep(0.1)
        save(payment, shot)
    payment.finish()
    await wait_for(lambda: top(IssueDialog) is not None)
    issue = top(IssueDialog)
    assert isinstance(issue, IssueDialog)
    await wait_for(lambda: not issue.busy and (issue.report is None or issue.preview.image is not None
                                               or not issue.report.receipt))  # fmt: skip
    await asyncio.sleep(0.1)
    issue.task = task  # type: ignore[attr-defined]
    return issue


async def shoot(out: Path, data_dir: Path) -> int:
    simulator, port = await start_simulator()
    try:
        await asyncio.to_thread(prepare_demo_data, data_dir)
        ctx = await open_context(
            demo_config(port), data_dir, service_factory=service_factory(data_dir), demo=True
        )
        try:
            ctx.operator = ctx.operators.get("gerente")
            window = MainWindow(ctx)
            maximize(window)
            window.start()
            await asyncio.sleep(0.5)
            for index, codes in enumerate(SALES[1:]):
                await ring_up(window, codes)
                issue = await pay_and_issue(
                    window, [(PaymentMethod.DINHEIRO, f"{window.vm.cart.total + index:.2f}")]
                )
                issue._primary()
                await issue.task  # type: ignore[attr-defined]
            await ring_up(window, SALES[0])
            window.vm.set_customer("52998224725")
            await asyncio.sleep(0.3)
            save(window, out / "checkout.png")
            total = window.vm.cart.total
            card = (total / 2).quantize(Decimal("0.01"))
            issue = await pay_and_issue(
                window,
                [(PaymentMethod.CREDITO, f"{card}".replace(".", ",")), (PaymentMethod.DINHEIRO, "100,00")],
                shot=out / "payment.png",
            )
            await asyncio.sleep(0.2)
            save(issue, out / "receipt.png")
            issue._primary()
            await issue.task  # type: ignore[attr-defined]
            history = HistoryDialog(ctx, window)  # sized to the screen by the dialog itself
            history.open()
            await history.reload()
            await asyncio.sleep(1.2)
            save(history, out / "history.png")
            history.accept()
            await window.shutdown()
            window.close()
        finally:
            await ctx.aclose()
    finally:
        stopped = simulator.stop()
        if asyncio.iscoroutine(stopped):
            await stopped
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--size", default="1024x768", help="the X screen's size, e.g. 1366x768")
    args = parser.parse_args()
    if os.environ.get("QT_QPA_PLATFORM", "xcb") != "xcb" or not os.environ.get("DISPLAY"):
        print("needs a real X server: run it under xvfb-run with QT_QPA_PLATFORM=xcb (see --help)")
        return 2
    width, height = (int(n) for n in args.size.lower().split("x"))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    screen = QGuiApplication.primaryScreen()
    actual = screen.size() if screen is not None else None
    if actual is None or (actual.width(), actual.height()) != (width, height):
        print(f"the X screen is {actual}, not {args.size}: start Xvfb with -screen 0 {args.size}x24")
        return 2
    del app
    args.out.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="posapp-shots-"))
    try:
        return run_loop(lambda: shoot(args.out, data_dir))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
