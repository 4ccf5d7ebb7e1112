"""Draw the trend picture of a report with matplotlib.

Only ``escalation report`` imports this module. It draws on a bare :class:`Figure` with the
Agg canvas rather than through ``pyplot``, so it neither needs a display nor switches the
backend of a program that imports it.
"""

from __future__ import annotations

import io

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .report import INDEX_COLOUR, LABEL_COLOURS, MAX_PANELS, SIGNAL_ORDER, Group, Report, plural

#: Marker per label, so the series differ in shape as well as colour.
MARKERS = {"diplomatic": "o", "military": "s", "civilian-preparedness": "^"}
EMPTY_SHADE = "#ececec"
WIDTH, PANEL_HEIGHT, LEGEND_HEIGHT = 11.0, 3.3, 0.6  # inches
DPI = 110


def draw_trend(report: Report) -> Figure:
    """One panel per group: signal sentences per period and, on a twin axis, the mean index.

    Periods without articles are NaN in :meth:`Report.series`, so the lines break there,
    and they are shaded.

    Parameters
    ----------
    report : Report

    Returns
    -------
    matplotlib.figure.Figure
        With one primary axes per panel (y label "signal sentences") and its twin.
    """
    groups = report.groups[:MAX_PANELS] or [Group(None)]
    figure = Figure(figsize=(WIDTH, LEGEND_HEIGHT + PANEL_HEIGHT * len(groups)), dpi=DPI,
                    layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(groups), 1, sharex=True, squeeze=False)[:, 0]
    x = np.arange(len(report.periods))
    for ax, group in zip(axes, groups):
        _draw_panel(ax, x, report.series(group))
        if group.name is not None:
            ax.set_title(f"{group.name} ({plural(group.articles, 'article')})", loc="left", fontsize=11)
        if not group.periods:
            message = f"No dated articles ({group.undated.articles} undated)" if group.articles else "No articles"
            ax.text(0.5, 0.5, message, transform=ax.transAxes, ha="center", va="center",
                    fontsize=13, color="#555555", bbox={"facecolor": "white", "edgecolor": "none"})
    if report.periods:
        _label_periods(axes[-1], report)
    else:
        axes[-1].set_xticks([])
    handles = [Line2D([], [], color=LABEL_COLOURS[label], marker=MARKERS[label], linewidth=2, label=label)
               for label in SIGNAL_ORDER]
    handles += [Line2D([], [], color=INDEX_COLOUR, marker="D", linestyle="--", label="mean escalation index (right axis)"),
                Patch(color=EMPTY_SHADE, label="no articles")]
    figure.legend(handles=handles, loc="outside upper center", ncol=len(handles), frameon=False, fontsize=10)
    return figure


def _draw_panel(ax, x, series) -> None:
    for k in np.flatnonzero(np.isnan(series["escalation_index"])):
        ax.axvspan(k - 0.5, k + 0.5, color=EMPTY_SHADE, linewidth=0, zorder=0)
    # Markers stay even when dense: a period between two gaps is a lone point with no line.
    size = 6 if len(x) <= 40 else 3
    for label in SIGNAL_ORDER:
        ax.plot(x, series[label], color=LABEL_COLOURS[label], marker=MARKERS[label], markersize=size,
                linewidth=2, label=label)
    ax.set_ylabel("signal sentences")
    top = max(1.0, np.nanmax(np.concatenate([series[label] for label in SIGNAL_ORDER]), initial=0) * 1.12)
    ax.set_ylim(-0.04 * top, top)  # a little below 0, so that markers at zero are not cut in half
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    twin = ax.twinx()
    twin.axhline(0, color="#777777", linewidth=0.8, linestyle=":")
    twin.plot(x, series["escalation_index"], color=INDEX_COLOUR, marker="D", markersize=size - 1,
              linestyle="--", linewidth=1.6)
    twin.set_ylim(-1.05, 1.05)
    twin.set_ylabel("mean escalation index")


def _label_periods(ax, report: Report) -> None:
    n = len(report.periods)

    def name(value, _position):
        k = int(round(value))
        return report.label(report.periods[k]) if abs(value - k) < 1e-9 and 0 <= k < n else ""

    ax.set_xlim(-0.5, n - 0.5)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=12, integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(name))
    ax.set_xlabel("ISO week" if report.by == "week" else "day")


def render_png(report: Report) -> bytes:
    """The trend picture of ``report`` as PNG bytes.

    Parameters
    ----------
    report : Report

    Returns
    -------
    bytes
    """
    buffer = io.BytesIO()
    draw_trend(report).savefig(buffer, format="png", facecolor="white")
    return buffer.getvalue()
