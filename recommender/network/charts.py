"""The network view's charts: the fill rate of each house, demand against supply per sector,
and the referrals between houses, as base64 SVG images with Persian labels and Persian digits
(drawn with the report's helpers, `recommender.reports.charts`, so text stays text and the
browser shapes it).

Each chart is a `Chart` (image, text alternative, caption); the page shows the same figures in
tables, which the text alternatives point to. A chart with nothing to draw is None.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recommender.network.summary import NetworkSummary
from recommender.reports.charts import Chart, figure, persian_ticks, shorten, svg_chart
from recommender.text.persian import format_number

__all__ = ["NETWORK_OPERATOR_FA", "network_charts"]

#: How a referral made by the network operator (no house) is named in charts and tables.
NETWORK_OPERATOR_FA = "گردانندهٔ شبکه"
_LIGHT, _DARK, _WARN = "#9ecae1", "#0f6e6e", "#c2591d"


@svg_chart
def _fill_plot(names: list[str], rates: list[float]) -> Any:
    n = len(names)
    fig = figure(5.0, max(2.2, 0.32 * n + 1.2))
    ax = fig.add_subplot()
    y = np.arange(n)
    percent = [100 * r for r in rates]
    ax.barh(y, percent, color=[_WARN if p > 100 else _DARK for p in percent], height=0.6)
    ax.axvline(100, color="#5b6876", linewidth=1, linestyle="--")
    for k, p in enumerate(percent):
        ax.annotate(
            format_number(p) + "٪",
            (p, k),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            ha="left",
            fontsize=9,
        )
    ax.set_yticks(y, labels=[shorten(x, 26) for x in names], fontsize=10)
    ax.invert_yaxis()
    ax.set_xlim(0, max(110.0, max(percent, default=0) * 1.15))
    ax.set_xlabel("درصد صندلی‌های دوره‌ها که به استقرار رسید")
    persian_ticks(ax.xaxis)
    ax.grid(axis="x", alpha=0.3)
    return fig


@svg_chart
def _sector_plot(names: list[str], demand: list[int], seats: list[int]) -> Any:
    n = len(names)
    fig = figure(5.0, max(2.6, 0.5 * n + 1.5))
    ax = fig.add_subplot()
    y = np.arange(n)
    ax.barh(y - 0.2, demand, 0.4, color=_WARN, label="تقاضا: درخواست‌ها")
    ax.barh(y + 0.2, seats, 0.4, color=_DARK, label="عرضه: صندلی‌های برنامه‌های فعال")
    ax.set_yticks(y, labels=[shorten(x, 26) for x in names], fontsize=10)
    ax.invert_yaxis()
    ax.set_xlabel("شمار")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    persian_ticks(ax.xaxis)
    fig.legend(loc="outside upper center", ncols=1, fontsize=9, frameon=False)
    ax.grid(axis="x", alpha=0.3)
    return fig


@svg_chart
def _referral_plot(senders: list[str], receivers: list[str], counts: np.ndarray) -> Any:
    fig = figure(6.0, max(2.8, 0.5 * len(senders) + 2.4))
    ax = fig.add_subplot()
    ax.imshow(counts, cmap="Blues", aspect="auto", vmin=0)
    ax.set_xticks(
        np.arange(len(receivers)),
        labels=[shorten(x, 22) for x in receivers],
        fontsize=9,
        rotation=35 if len(receivers) > 3 else 0,
        ha="right" if len(receivers) > 3 else "center",
        rotation_mode="anchor",
    )
    ax.set_yticks(np.arange(len(senders)), labels=[shorten(x, 26) for x in senders], fontsize=9)
    ax.set_xlabel("خانهٔ گیرنده")
    ax.set_ylabel("ارجاع‌دهنده")
    top = counts.max() if counts.size else 0
    for (i, j), value in np.ndenumerate(counts):
        if value:
            color = "#fff" if value > top / 2 else "#1d2733"
            ax.text(j, i, format_number(value), ha="center", va="center", color=color, fontsize=11)
    return fig


def network_charts(summary: NetworkSummary) -> dict[str, Chart | None]:
    """The view's charts by name: ``fill_rate`` (houses whose rounds offered seats),
    ``sectors`` (sectors with demand or seats), ``referrals`` (houses that sent or received a
    referral, every status counted); None where there is nothing to draw."""
    charts: dict[str, Chart | None] = {"fill_rate": None, "sectors": None, "referrals": None}
    rated = sorted(
        (h for h in summary.houses if h.fill_rate is not None),
        key=lambda h: (-(h.fill_rate or 0.0), h.name),
    )
    if rated:
        charts["fill_rate"] = Chart(
            _fill_plot([h.name for h in rated], [h.fill_rate or 0.0 for h in rated]),
            "نمودار میله‌ای نرخ پرشدن صندلی‌های دوره‌های هر خانه؛ همین اعداد در جدول خانه‌ها آمده است.",
            "نرخ پرشدن: صندلی‌هایی که در دوره‌های هر خانه به استقرار رسید، به درصدِ صندلی‌های "
            "آن دوره‌ها (خط‌چین: ظرفیت کامل)",
        )
    shown = [x for x in summary.sectors if x.applications or x.seats]
    if shown:
        charts["sectors"] = Chart(
            _sector_plot(
                [x.name_fa for x in shown],
                [x.applications for x in shown],
                [x.seats for x in shown],
            ),
            "نمودار میله‌ای تقاضا (درخواست‌ها) و عرضه (صندلی‌ها) در هر حوزه؛ همین اعداد در "
            "جدول حوزه‌ها آمده است.",
            "تقاضا و عرضه در هر حوزه: درخواست‌هایی که آن حوزه را نام برده‌اند و صندلی‌های "
            "برنامه‌های فعال آن حوزه",
        )
    if summary.referrals:
        names = {h.org_id: h.name for h in summary.houses}
        senders = sorted({r.from_org or "" for r in summary.referrals})
        receivers = sorted({r.to_org for r in summary.referrals})
        counts = np.zeros((len(senders), len(receivers)), dtype=int)
        for r in summary.referrals:
            counts[senders.index(r.from_org or ""), receivers.index(r.to_org)] += r.count
        charts["referrals"] = Chart(
            _referral_plot(
                [names.get(s, s) if s else NETWORK_OPERATOR_FA for s in senders],
                [names.get(r, r) for r in receivers],
                counts,
            ),
            "جدول رنگی شمار ارجاع‌ها از هر خانه به خانهٔ دیگر؛ همین اعداد در جدول ارجاع‌ها آمده است.",
            "ارجاع‌ها میان خانه‌ها (همهٔ وضعیت‌ها): هر سطر ارجاع‌دهنده، هر ستون خانهٔ گیرنده",
        )
    return charts
