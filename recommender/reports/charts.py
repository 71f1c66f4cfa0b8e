"""The report's charts: SVG images whose text stays text (`svg.fonttype: none`), so the
browser shapes the Persian labels, axes and legends (matplotlib alone cannot join Persian
letters), with Persian digits on the axes.

Each chart comes base64-encoded (for an ``<img src="data:image/svg+xml;base64,...">``):
matplotlib escapes the labels inside the SVG, and an image cannot run scripts, so names
from imports and applicants stay text; `Chart.alt` and `Chart.caption` are plain text that
the HTML template escapes.

`svg_chart`, `figure`, `persian_ticks` and `shorten` are the helpers other charts (the network
view's, `recommender.network.charts`) draw with.
"""

from __future__ import annotations

import base64
import functools
import io
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from recommender.reports.round_report import RoundReport
from recommender.scoring.round_scores import RoundScores
from recommender.text.persian import format_number


@dataclass(frozen=True)
class Chart:
    """One chart of the report.

    Attributes:
        data: the SVG image, base64 (only ``A-Z a-z 0-9 + / =``).
        alt: the image's text alternative (plain text).
        caption: the figure caption (plain text).
    """

    data: str
    alt: str
    caption: str


_CHART_FONTS = ["Vazirmatn", "Tahoma", "Segoe UI", "DejaVu Sans"]
_CHART_RC = {
    "svg.fonttype": "none",  # text stays text: the browser shapes Persian
    "svg.hashsalt": "peyvand",  # stable ids: the same report gives the same file
    "font.family": _CHART_FONTS,
    "axes.unicode_minus": False,
}


# matplotlib's settings (rcParams, which rc_context changes) are global to the process: a page
# and a round job drawing at once would mix each other's settings, so one chart is drawn at a
# time.
_DRAWING = threading.Lock()


def svg_chart(plot: Callable[..., Any]) -> Callable[..., str]:
    """`plot(...)` (which returns a figure) run under the chart settings, as a base64 SVG
    (for an `<img src="data:image/svg+xml;base64,…">`)."""
    @functools.wraps(plot)
    def draw(*args: Any, **kwargs: Any) -> str:
        import matplotlib
        from matplotlib.backends.backend_svg import FigureCanvasSVG

        quiet = logging.getLogger("matplotlib.font_manager")
        level = quiet.level
        quiet.setLevel(logging.ERROR)  # the Persian fonts are the reader's, not this machine's
        buffer = io.BytesIO()
        try:
            with _DRAWING, matplotlib.rc_context(_CHART_RC):
                fig = plot(*args, **kwargs)
                FigureCanvasSVG(fig)
                fig.savefig(buffer, format="svg", metadata={"Date": None})
        finally:
            quiet.setLevel(level)
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    return draw


def figure(width: float, height: float) -> Any:
    """A matplotlib figure of `width` x `height` inches, laid out to fit its labels."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def persian_ticks(axis: Any, decimals: int = 0) -> None:
    """Label `axis`'s ticks in Persian digits with `decimals` digits after the point."""
    from matplotlib.ticker import FuncFormatter

    axis.set_major_formatter(FuncFormatter(lambda v, _: format_number(v, decimals)))


def shorten(name: str, limit: int = 34) -> str:
    """`name`, cut to `limit` characters with an ellipsis when longer."""
    return name if len(name) <= limit else name[: limit - 1] + "…"


@svg_chart
def _use_plot(names: Sequence[str], total: Sequence[float], used: Sequence[float] | None,
              unit: str, integer: bool = False) -> Any:
    n = len(names)
    fig = figure(7.5, max(2.5, 0.26 * n + 1.2))
    ax = fig.add_subplot()
    y = np.arange(n)
    ax.barh(y, total, color="#d9d9d9", label="ظرفیت")
    if used is not None:
        ax.barh(y, used, color="#2b7bba", height=0.5, label="تخصیص‌یافته")
    ax.set_yticks(y, labels=[shorten(x) for x in names], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(unit)
    if integer:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    persian_ticks(ax.xaxis, 0 if integer else 1)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    return fig


@svg_chart
def _score_plot(scores: RoundScores) -> Any:
    fig = figure(7.5, 3.2)
    ax = fig.add_subplot()
    eligible = scores.score[scores.eligible]
    best = np.where(scores.eligible, scores.score, -np.inf).max(axis=1)
    best = best[np.isfinite(best)]
    bins = np.linspace(0.0, 1.0, 41) if eligible.size and eligible.max() <= 1 else 40
    if eligible.size:
        ax.hist(eligible, bins=bins, color="#9ecae1", label="همهٔ جفت‌های واجد شرایط",
                density=True)
    if best.size:
        ax.hist(best, bins=bins, histtype="step", linewidth=2, color="#08519c",
                label="بهترین امتیاز هر متقاضی", density=True)
    ax.set_xlabel("امتیاز تناسب")
    ax.set_ylabel("فراوانی نسبی")
    persian_ticks(ax.xaxis, 2)
    persian_ticks(ax.yaxis, 1)
    if eligible.size:  # a round with no eligible pair draws no histogram to name
        ax.legend(loc="upper left", fontsize=8)
    return fig


@svg_chart
def _count_plot(labels: Sequence[str], values: Sequence[float],
                values2: Sequence[float] | None = None) -> Any:
    n = len(labels)
    fig = figure(7.5, 3.2)
    ax = fig.add_subplot()
    x = np.arange(n)
    width = 0.4 if values2 is not None else 0.7
    ax.bar(x - (width / 2 if values2 is not None else 0), values, width, color="#6baed6",
           label="متقاضیان")
    if values2 is not None:
        ax.bar(x + width / 2, values2, width, color="#08519c", label="جای‌گرفته‌ها")
        ax.legend(loc="upper right", fontsize=8)
    ax.set_xticks(x, labels=[shorten(x, 18) for x in labels], fontsize=8,
                  rotation=30 if n > 6 else 0, ha="right" if n > 6 else "center")
    ax.set_ylabel("شمار")
    persian_ticks(ax.yaxis)
    ax.grid(axis="y", alpha=0.3)
    return fig


def report_charts(report: RoundReport, summary: Mapping[str, Any]) -> dict[str, Chart | None]:
    """The report's charts by name (``seats``, ``budget``, ``scores``, ``provinces``,
    ``choices``); None where there is nothing to draw."""
    alloc = report.allocation
    charts: dict[str, Chart | None] = {}
    usage = {p["program_id"]: p for p in summary["programs"]}
    seat_ids = [c.program_id for c in report.capacity if usage[c.program_id]["seats"] > 0]
    seat_names = [usage[p]["name"] for p in seat_ids]
    charts["seats"] = None
    if seat_ids:
        used = ([usage[p]["seats_used"] or 0 for p in seat_ids] if alloc is not None else None)
        img = _use_plot(seat_names, [usage[p]["seats"] for p in seat_ids], used, "صندلی",
                        integer=True)
        charts["seats"] = Chart(
            img, "ظرفیت و صندلی‌های تخصیص‌یافتهٔ هر برنامه",
            "ظرفیت استقرار هر برنامه (خاکستری) و صندلی‌های تخصیص‌یافته (آبی)")
    budget_ids = [c.program_id for c in report.capacity if usage[c.program_id]["budget"] > 0]
    charts["budget"] = None
    if budget_ids:
        scale = 1e9
        used = ([(usage[p]["budget_used"] or 0) / scale for p in budget_ids]
                if alloc is not None else None)
        img = _use_plot([usage[p]["name"] for p in budget_ids],
                        [usage[p]["budget"] / scale for p in budget_ids], used, "میلیارد ریال")
        charts["budget"] = Chart(img, "بودجه و مبلغ تخصیص‌یافتهٔ هر برنامه",
                                 "بودجهٔ هر برنامه و مبلغ تخصیص‌یافته (میلیارد ریال)")
    charts["scores"] = Chart(
        _score_plot(report.scores), "توزیع امتیاز تناسب",
        "توزیع امتیاز تناسب: همهٔ جفت‌های واجد شرایط (ستون‌ها) و بهترین امتیاز هر متقاضی (خط)")
    fair = summary["fairness"]
    provinces = list(fair["applicants_by_province"])
    charts["provinces"] = None
    if provinces:
        placed = [fair["placements_by_province"].get(p, 0) for p in provinces]
        img = _count_plot(
            provinces,
            [fair["applicants_by_province"][p] for p in provinces],
            placed if alloc is not None else None,
        )
        charts["provinces"] = Chart(
            img, "متقاضیان هر استان",
            "متقاضیان هر استان" + (" و جای‌گرفته‌ها" if alloc is not None else ""))
    charts["choices"] = None
    if fair["choice_counts"] is not None:
        c = fair["choice_counts"]
        img = _count_plot(["گزینهٔ نخست", "گزینهٔ دوم یا سوم", "گزینه‌ای دیگر", "جای نگرفته"],
                          [c["top1"], c["top3"] - c["top1"], c["other"], c["not_placed"]])
        charts["choices"] = Chart(
            img, "جای‌گیری متقاضیان نسبت به گزینه‌های برترشان",
            "متقاضیانی که در گزینهٔ نخست خود، در گزینهٔ دوم یا سوم، در "
            "گزینه‌ای دیگر جای گرفتند یا جای نگرفتند")
    return charts
