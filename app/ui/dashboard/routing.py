"""Expert routing: tokens each expert received per layer over the run so far (a layers x
experts heatmap; dense layers stay blank) and each MoE layer's load balance."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from .plots import Note, PlotView, bar_values, colour, hold_range, nice_ceiling, pale, pen, styled_plot
from .record import RunRecord

ROSE = colour("moe")
HEAT_MAP = pg.ColorMap([0.0, 0.5, 1.0], [pale("moe"), ROSE, "#5c1027"])  # 0 tokens is pale, not blank


class RoutingView(PlotView):
    title, object_name, slug = "Expert routing", "routingDock", "routing"
    row_weights = (3, 2)

    def __init__(self):
        super().__init__()
        self.heat_plot = styled_plot(self.layout, 0, "expert", "layer", whole_numbers="xy")
        self.heat = pg.ImageItem(axisOrder="row-major")
        self.heat_plot.addItem(self.heat)
        self.heat_bar = pg.ColorBarItem(colorMap=HEAT_MAP, interactive=False, values=(0, 1), label="tokens", width=14)
        self.heat_bar.setImageItem(self.heat, insert_in=self.heat_plot)
        self.heat_bar.axis.enableAutoSIPrefix(False)  # relabels the bar on every change otherwise
        self.note = Note(self.heat_plot)

        # A title would hold the plot as wide as its text; the dashed line at 1 and the
        # tooltip say what the bars mean.
        self.balance_plot = styled_plot(self.layout, 1, "layer", "max / mean load", whole_numbers="x")
        self.widget.setToolTip("The heatmap: tokens each expert received, per layer, over the run so far.\n"
                               "The bars: each MoE layer's load balance, its busiest expert's tokens over the mean "
                               "(the dashed line at 1: every expert equally loaded).")
        self.balance = pg.BarGraphItem(x=[], height=[], width=0.8, brush=ROSE, pen=pg.mkPen(None))
        self.balance_plot.addItem(self.balance)
        self.even = pg.InfiniteLine(pos=1.0, angle=0, pen=pen("#5b6472", dashed=True, width=1))
        self.balance_plot.addItem(self.even, ignoreBounds=True)
        self._record: RunRecord | None = None
        self._moe_rows: list[int] = []
        self._top = 0  # colour bar top last drawn
        self._values_shown = True
        self._empty()

    def show(self, record: RunRecord) -> None:
        if record is not self._record:
            self._record = record
            self._moe_rows = list(record.moe_layers)
        totals = record.routing_totals()
        if not self._moe_rows and not totals:
            self.note.set("no MoE layers" if record.num_layers else "")
            self._empty()
            return
        if not totals:
            self.note.set("routing is recorded with the probe on" if record.steps else "")
            self._empty()
            return
        self.note.set("")
        self._axis_values(True)
        experts = max(len(counts) for counts in totals.values())
        layers = max(record.num_layers, max(totals) + 1)
        image = np.full((layers, experts), np.nan)  # NaN: no experts in that layer, drawn blank
        if len({len(counts) for counts in totals.values()}) == 1:
            image[list(totals)] = np.asarray(list(totals.values()), dtype=float)
        else:
            for layer, counts in totals.items():
                image[layer, :len(counts)] = counts
        top = nice_ceiling(float(np.nanmax(image)))  # levels that move with every step re-lay the bar out
        self.heat.setImage(image, autoLevels=False, levels=(0.0, top))
        self.heat.setRect(QRectF(-0.5, -0.5, experts, layers))
        if top != self._top:
            self._top = top
            self.heat_bar.setLevels((0.0, top))
        balance = record.load_balance()
        self.balance.setOpts(x=np.asarray(list(balance), dtype=float), height=np.asarray(list(balance.values())))
        hold_range(self.balance_plot, "y", max(balance.values(), default=0.0) * 1.05)

    def _axis_values(self, shown: bool) -> None:
        """An empty plot shows no tick values: "-0.4 ... 0.4" under "no MoE layers" is noise."""
        if shown != self._values_shown:
            self._values_shown = shown
            for plot in (self.heat_plot, self.balance_plot):
                for name in ("left", "bottom"):
                    plot.getAxis(name).setStyle(showValues=shown)

    def _empty(self) -> None:
        self._axis_values(False)
        self.heat.clear()
        self.balance.setOpts(x=[], height=[])

    def clear(self) -> None:
        self._empty()
        self.note.set("")
        self._record = None
        self._top = 0

    def plotted(self) -> dict:
        image = self.heat.image
        routing = {}
        if image is not None:
            for layer, row in enumerate(image):
                if not math.isnan(row[0]):
                    routing[layer] = [int(v) for v in row if not math.isnan(v)]
        layers = [int(v) for v in bar_values(self.balance, "x")]
        return {"routing": routing, "load_balance": dict(zip(layers, bar_values(self.balance))),
                "routing_note": self.note.text}

    def has_data(self) -> bool:
        return self.heat.image is not None
