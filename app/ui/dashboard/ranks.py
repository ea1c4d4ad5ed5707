"""Ranks: a tensor- or expert-parallel run seen rank by rank -- per layer each rank's compute
and communication time (the mean timed step) with the communication's share of the layer
written over it, and, for a run with MoE layers, the tokens each rank routed to each expert.
A run on one process says that it has no ranks."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QFont

from .. import theme
from .plots import LEGEND_HEADROOM, Note, PlotView, add_legend, bar_values, forget_ranges, hold_range, styled_plot
from .rank_figures import RankFigures, rank_figures
from .record import RunRecord

GROUP_WIDTH = 0.8  # of one layer's (or expert's) slot, shared by its ranks' bars
# One colour pair a rank (the palette's pale fill and saturated border, so the ranks read as
# the app's colours): compute in the saturated one, communication in the pale one.
RANK_COLOUR_KINDS = ("attention", "linear", "ffn", "mla", "sliding", "moe", "position", "embedding")
LEGEND_ROOM = 2.0  # the time scale over the tallest group: the legend's rows and the share labels above the bars
SHARE_POINT_SIZE = 8  # a point below the axes', as the legends: the labels sit over the data
NO_RANKS = "no parallel run:\nset tensor or expert parallel above 1 in the Run panel"


def rank_colours(rank: int) -> tuple[str, str]:
    """(pale, saturated) for a rank; past the eighth the colours come round again."""
    return theme.KIND_COLOURS[RANK_COLOUR_KINDS[rank % len(RANK_COLOUR_KINDS)]]


def group_offsets(count: int) -> np.ndarray:
    """Where each of `count` bars sits in its slot, centred on the slot's whole number."""
    width = GROUP_WIDTH / max(count, 1)
    return (np.arange(count) - (count - 1) / 2) * width


class RanksView(PlotView):
    title, object_name, slug = "Ranks", "ranksDock", "ranks"
    row_weights = (3, 2)

    def __init__(self):
        super().__init__()
        # No plot titles: a title holds its plot as wide as its text, and the dock sets the
        # plots side by side. The axis titles, the legends and the share labels say it all.
        self.times_plot = styled_plot(self.layout, 0, "layer (%: communication share)", "mean step time",
                                      y_units="ms", whole_numbers="x")
        self.times_legend = add_legend(self.times_plot, columns=3)
        # the legend's swatch for every rank's pale part (its own item, never drawn in the plot)
        self.comm_sample = pg.BarGraphItem(x=[], height=[], width=1, brush=theme.KIND_COLOURS["embedding"][0],
                                           pen=pg.mkPen(theme.KIND_COLOURS["embedding"][1], width=1))
        self.experts_plot = styled_plot(self.layout, 1, "expert", "tokens routed", whole_numbers="x")
        self.experts_legend = add_legend(self.experts_plot)
        self.experts_shown = True  # the expert plot is in the layout only for a run with MoE layers
        self.note = Note(self.times_plot)
        self.share_labels: list[pg.TextItem] = []
        self.widget.setToolTip(
            "A tensor- or expert-parallel run, rank by rank (the mean decode step; the prefill when none ran).\n"
            "Each layer's time on each rank, split into compute (solid) and the collectives it spent in (pale):\n"
            " all-reduces after attention and the MLP (tensor parallel), all-to-alls around the experts (expert "
            "parallel).\nA collective's time includes waiting for the slower rank. The % over each layer: "
            "communication's share of its time, all ranks together.\n"
            "With MoE layers, beside it: the tokens each rank's router sent to each expert, summed over the MoE "
            "layers and every step.")
        self.compute_bars: list[pg.BarGraphItem] = []
        self.comm_bars: list[pg.BarGraphItem] = []
        self.expert_bars: list[pg.BarGraphItem] = []
        self.figures: RankFigures | None = None
        self._shown: tuple | None = None  # (record, its ranks section) last drawn
        self._empty(NO_RANKS)

    # --- drawing ---------------------------------------------------------------------------

    def show(self, record: RunRecord) -> None:
        state = (id(record), id(record.ranks))
        if state == self._shown:
            return
        self._shown = state
        if not record.ranks or not record.ranks.get("per_rank"):
            self._empty(NO_RANKS)
            return
        self.figures = figures = rank_figures(record.ranks)
        self.note.set("")
        self._axis_values(True)
        self._bars_for(len(figures.ranks))
        self._show_times(figures)
        self._show_shares(figures)
        self._show_experts(figures)

    def _show_expert_plot(self, shown: bool) -> None:
        """The expert plot joins the layout for a run with MoE layers and leaves it otherwise,
        so that a dense run's times take the whole dock."""
        if shown == self.experts_shown:
            return
        self.experts_shown = shown
        if shown:
            self.layout.addItem(self.experts_plot, row=1, col=0)
        else:
            self.layout.removeItem(self.experts_plot)
        self.side_by_side = None  # lay the plots out again
        self.arrange()

    def _bars_for(self, ranks: int) -> None:
        """A compute, a communication and an expert bar item per rank, made when the count of
        ranks changes (a new run), never per refresh."""
        if len(self.compute_bars) == ranks:
            return
        for item in self.compute_bars + self.comm_bars:
            self.times_plot.removeItem(item)
        for item in self.expert_bars:
            self.experts_plot.removeItem(item)
        self.compute_bars, self.comm_bars, self.expert_bars = [], [], []
        width = GROUP_WIDTH / ranks
        for rank in range(ranks):
            pale, saturated = rank_colours(rank)
            outline = pg.mkPen(saturated, width=1)
            self.compute_bars.append(pg.BarGraphItem(x=[], height=[], width=width, brush=saturated, pen=outline))
            self.comm_bars.append(pg.BarGraphItem(x=[], y0=[], height=[], width=width, brush=pale, pen=outline))
            self.expert_bars.append(pg.BarGraphItem(x=[], height=[], width=width, brush=saturated,
                                                    pen=pg.mkPen(None)))
            self.times_plot.addItem(self.compute_bars[-1])
            self.times_plot.addItem(self.comm_bars[-1])
            self.experts_plot.addItem(self.expert_bars[-1])
        # a rank's compute in its colour; the communication, every rank's in its pale shade, once
        self.times_legend.set_entries([(bar, f"rank {rank} compute") for rank, bar in enumerate(self.compute_bars)]
                                      + [(self.comm_sample, "communication")])
        self.experts_legend.set_entries([(bar, f"rank {rank}") for rank, bar in enumerate(self.expert_bars)])

    def _show_times(self, figures: RankFigures) -> None:
        layers = np.arange(figures.num_layers, dtype=float)
        offsets = group_offsets(len(figures.ranks))
        top = 0.0
        for index in range(len(figures.ranks)):
            compute = np.asarray(figures.compute_ms[index], dtype=float)
            comm = np.asarray(figures.comm_ms[index], dtype=float)
            self.compute_bars[index].setOpts(x=layers + offsets[index], height=compute)
            self.comm_bars[index].setOpts(x=layers + offsets[index], y0=compute, height=comm)
            top = max(top, float((compute + comm).max(initial=0.0)))
        self.times_legend.fit()  # shown again after an empty record hid it
        self.times_plot.setLabel("left", f"mean {figures.phase} step time", units="ms", color=theme.MUTED_TEXT)
        forget_ranges(self.times_plot)
        hold_range(self.times_plot, "y", top * LEGEND_ROOM)
        self.times_plot.setXRange(-0.5, figures.num_layers - 0.5, padding=0)

    def _show_shares(self, figures: RankFigures) -> None:
        """Over each layer's bars, communication's share of its time ("71%"; the axis title
        says what the figure is: a longer label runs into the next layer's)."""
        while len(self.share_labels) > figures.num_layers:
            self.times_plot.removeItem(self.share_labels.pop())
        while len(self.share_labels) < figures.num_layers:
            label = pg.TextItem("", color=theme.TEXT, anchor=(0.5, 1.0))
            font = QFont(label.textItem.font())
            font.setPointSize(SHARE_POINT_SIZE)
            label.setFont(font)
            self.times_plot.addItem(label)
            self.share_labels.append(label)
        for layer, (label, share) in enumerate(zip(self.share_labels, figures.comm_share)):
            top = max(compute[layer] + comm[layer] for compute, comm in zip(figures.compute_ms, figures.comm_ms))
            label.setText(f"{100 * share:.0f}%" if share is not None else "")
            label.setPos(layer, top)

    def _show_experts(self, figures: RankFigures) -> None:
        totals = figures.expert_totals()
        experts = max((len(counts) for counts in totals), default=0)
        self._show_expert_plot(bool(experts))
        if not experts:
            for bar in self.expert_bars:
                bar.setOpts(x=[], height=[])
            return
        self.experts_legend.fit()
        offsets = group_offsets(len(totals))
        for index, counts in enumerate(totals):
            self.expert_bars[index].setOpts(x=np.arange(len(counts), dtype=float) + offsets[index],
                                            height=np.asarray(counts, dtype=float))
        forget_ranges(self.experts_plot)
        hold_range(self.experts_plot, "y", max(max(counts, default=0) for counts in totals) * LEGEND_HEADROOM)
        self.experts_plot.setXRange(-0.5, experts - 0.5, padding=0)

    def _axis_values(self, shown: bool) -> None:
        """An empty plot shows no tick values: "0 ... 1 ms" under "no parallel run" is noise."""
        for plot in (self.times_plot, self.experts_plot):
            for name in ("left", "bottom"):
                plot.getAxis(name).setStyle(showValues=shown)

    def _empty(self, note: str) -> None:
        self._axis_values(False)
        self.figures = None
        for bar in self.compute_bars + self.comm_bars + self.expert_bars:
            bar.setOpts(x=[], height=[])
        for label in self.share_labels:
            label.setText("")
        self.times_legend.setVisible(False)
        self._show_expert_plot(False)
        self.note.set(note)

    def clear(self) -> None:
        self._shown = None
        self._empty("")

    # --- read back -------------------------------------------------------------------------

    def plotted(self) -> dict:
        """What the bars and labels hold now, per rank, as plain lists."""
        return {
            "ranks_compute_ms": [bar_values(bar) for bar in self.compute_bars if bar_values(bar)],
            "ranks_comm_ms": [bar_values(bar) for bar in self.comm_bars if bar_values(bar)],
            "ranks_comm_share_labels": [label.toPlainText() for label in self.share_labels if label.toPlainText()],
            "ranks_expert_tokens": [[int(v) for v in bar_values(bar)] for bar in self.expert_bars if bar_values(bar)],
            "ranks_legend": [label.__dict__.get("whole_name", label.text) for _sample, label in self.times_legend.items]
            if self.figures else [],
            "ranks_note": self.note.text, "ranks_expert_plot_shown": self.experts_shown}

    def has_data(self) -> bool:
        return self.figures is not None
