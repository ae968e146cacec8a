"""Charts for the reports, drawn with matplotlib's Agg backend straight to PNG bytes in memory.

Figures are built with the object API (`Figure` + `FigureCanvasAgg`), never `pyplot`, so no
global figure state is shared between the threads of the HTTP server. Text uses the same font
files as the PDFs (`fonts.font_files`): DejaVu Sans, or IPAexGothic when a caption carries
Japanese. Amounts of different currencies are never drawn on one axis: each currency gets its
own panel.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from decimal import Decimal

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import FuncFormatter

from acsa.documents import fonts

DPI = 110
COLOURS = ["#1f4e79", "#c55a11", "#548235", "#7f6000", "#7030a0", "#2e75b6"]


def _font(lang: str, size: float) -> FontProperties:
    name = fonts.JAPANESE if lang == "ja" else fonts.LATIN
    return FontProperties(fname=str(fonts.font_files()[name]), size=size)


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


GROUPED = FuncFormatter(lambda v, _: f"{v:,.0f}")


def _style(ax, lang: str, axis: str = "y") -> None:  # type: ignore[no-untyped-def]
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(GROUPED)
    small = _font(lang, 7)
    for label in ax.get_xticklabels() + ax.get_yticklabels():
        label.set_fontproperties(small)
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="both", linewidth=0.3, alpha=0.5)


def balance_over_time(series: Sequence[tuple[str, Sequence[tuple[dt.date, Decimal]]]],
                      title: str, lang: str) -> bytes:
    """One step line per currency (panel each) of the running balance after each movement."""
    fig = Figure(figsize=(7.2, 1.6 + 1.4 * len(series)))
    axes = fig.subplots(len(series), 1, squeeze=False)[:, 0]
    for i, (ax, (label, points)) in enumerate(zip(axes, series, strict=True)):
        xs = [p[0] for p in points]
        ys = [float(p[1]) for p in points]
        ax.step(xs, ys, where="post", color=COLOURS[i % len(COLOURS)], linewidth=1)
        ax.axhline(0, color="#888888", linewidth=0.6)
        ax.set_ylabel(label, fontproperties=_font(lang, 8))
        _style(ax, lang)
    axes[0].set_title(title, fontproperties=_font(lang, 10))
    fig.autofmt_xdate()
    fig.tight_layout()
    return _png(fig)


def bars(panels: Sequence[tuple[str, Sequence[str], Sequence[tuple[str, Sequence[Decimal]]]]],
         title: str, lang: str, horizontal: bool = True) -> bytes:
    """Grouped bars, one panel per currency: (panel label, category names, [(series name,
    values per category)])."""
    height = sum(1.0 + 0.28 * len(cats) * max(1, len(ser)) for _, cats, ser in panels)
    fig = Figure(figsize=(7.2, max(2.4, height) if horizontal else 1.0 + 2.2 * len(panels)))
    axes = fig.subplots(len(panels), 1, squeeze=False)[:, 0]
    for ax, (label, cats, series) in zip(axes, panels, strict=True):
        n = max(1, len(series))
        width = 0.8 / n
        for j, (name, values) in enumerate(series):
            pos = [i - 0.4 + width * (j + 0.5) for i in range(len(cats))]
            vals = [float(v) for v in values]
            colour = COLOURS[j % len(COLOURS)]
            if horizontal:
                ax.barh(pos, vals, height=width, label=name, color=colour)
            else:
                ax.bar(pos, vals, width=width, label=name, color=colour)
        ticks = list(range(len(cats)))
        if horizontal:
            ax.set_yticks(ticks, list(cats))
            ax.invert_yaxis()
            ax.set_xlabel(label, fontproperties=_font(lang, 8))
        else:
            ax.set_xticks(ticks, list(cats))
            ax.set_ylabel(label, fontproperties=_font(lang, 8))
        _style(ax, lang, "x" if horizontal else "y")
        if len(series) > 1:
            ax.legend(prop=_font(lang, 7), frameon=False)
    axes[0].set_title(title, fontproperties=_font(lang, 10))
    fig.tight_layout()
    return _png(fig)
