"""The roofline chart: arithmetic intensity (FLOPs per byte) against achieved FLOP/s, log-log,
one point per layer kind of the run under the device's two roofs -- its memory bandwidth
(the slope) and its matmul rate (the flat roof). Drawn when a run ends or its snapshot opens."""

from __future__ import annotations

import math

import pyqtgraph as pg

from .. import theme
from ..labels import percent
from .plots import Note, PlotView, add_legend, colour, empty, pen, styled_plot
from .record import RunRecord
from .roofline_points import KindPoint, RunCosting, kind_points

CALIBRATE_HINT = "Calibrate this device (Profile > Calibrate device) to draw its roofs"
# The theme kind (its colour) and the marker of each point kind: mixers round, feed-forward
# square, the head a triangle; sparse MLA shares MLA's violet, told apart by its diamond.
POINT_STYLE = {
    "attention": ("attention", "o"), "sliding window": ("sliding", "o"), "MLA": ("mla", "o"),
    "sparse MLA": ("mla", "d"), "linear mixer": ("linear", "o"), "cross-attention": ("vision", "o"),
    "dense MLP": ("ffn", "s"), "MoE": ("moe", "s"), "head": ("embedding", "t"),
}
# Decode steps put a layer's mixer and feed-forward at nearly the same place (both read their
# weights once per token): the smaller square sits over the larger circle, and both show.
MARKER_SIZE_AND_Z = {"o": (16, 1), "d": (16, 1), "s": (10, 2), "t": (12, 3)}  # pixels, stacking order
BANDWIDTH_LABEL_BELOW_RIDGE = 2.5  # its label's intensity: the ridge's over this
MARGIN = 3.0  # how far (as a factor) the view reaches past the outermost point or the ridge
EDGE_DECADES = 0.12  # and past its outer decades, so that their ticks are labelled
SI_PREFIXES = ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def si(value: float, unit: str = "", digits: int = 3) -> str:
    """12.3e9 -> "12.3 G" + unit; plain below 1000."""
    for scale, prefix in SI_PREFIXES:
        if value >= scale:
            return f"{value / scale:.{digits}g} {prefix}{unit}".rstrip()
    return f"{value:.{digits}g} {unit}".rstrip()


class DecadeAxis(pg.AxisItem):
    """A log axis that labels only its decades, with SI prefixes ("100M", "1G", "10G"):
    pyqtgraph's own writes 10⁹ and labels the minor ticks too, crowding a small dock."""

    def logTickStrings(self, values, scale, spacing):
        labels = []
        for value in values:
            decade = round(value)
            labels.append(si(10.0 ** decade * scale).replace(" ", "") if abs(value - decade) < 1e-6 else "")
        return labels


def decades(low: float, high: float) -> tuple[float, float]:
    """log10 of the decades around low..high, each side MARGIN further out."""
    return math.floor(math.log10(low / MARGIN)), math.ceil(math.log10(high * MARGIN))


class RooflineView(PlotView):
    title, object_name, slug = "Roofline", "rooflineDock", "roofline"

    def __init__(self):
        super().__init__()
        axes = {"left": DecadeAxis("left"), "bottom": DecadeAxis("bottom")}
        self.plot = styled_plot(self.layout, 0, "arithmetic intensity (FLOP/byte)", "achieved FLOP/s",
                                axis_items=axes)
        self.plot.setLogMode(x=True, y=True)
        # Decode points sit left of the ridge, low: the lower right stays empty for the legend.
        self.legend = add_legend(self.plot, offset=(-10, -10), columns=1)
        self.roof = self.plot.plot(pen=pen(theme.TEXT, width=2), antialias=True)
        self.bandwidth_label = pg.TextItem("", color=theme.TEXT, anchor=(1.0, 1.0))
        self.compute_label = pg.TextItem("", color=theme.TEXT, anchor=(1.0, 1.0))
        for label in (self.bandwidth_label, self.compute_label):
            label.setVisible(False)
            self.plot.addItem(label, ignoreBounds=True)
        self.points: dict[str, pg.PlotDataItem] = {}  # per kind, made on first need and kept
        self.note = Note(self.plot)
        self._drawn: tuple | None = None  # (record, steps, run known) of the last draw
        self._shown_points: list[KindPoint] = []

    def _point_item(self, kind: str) -> pg.PlotDataItem:
        if kind not in self.points:
            theme_kind, symbol = POINT_STYLE.get(kind, ("none", "o"))
            size, stacking = MARKER_SIZE_AND_Z[symbol]
            item = pg.PlotDataItem(pen=None, symbol=symbol, symbolSize=size, symbolBrush=colour(theme_kind),
                                   symbolPen=pg.mkPen(theme.TEXT, width=1), antialias=True)
            item.setZValue(stacking)
            self.plot.addItem(item)
            self.points[kind] = item
        return self.points[kind]

    def show(self, record: RunRecord) -> None:
        state = (record, len(record.steps), record.run is not None)
        if self._drawn is not None and self._drawn[0] is record and self._drawn[1:] == state[1:]:
            return
        self._drawn = state
        if record.run is None:  # streaming: the points sum the whole run, drawn at its end
            self._draw([], None, "the roofline is drawn when the run ends" if record.steps else "")
            return
        costing = RunCosting.of(record)
        points = kind_points(record, costing)
        note = "" if points else ("no layer times: the roofline needs the probe on and the model's spec"
                                  if record.steps else "")
        self._draw(points, costing.roofs if costing is not None else None, note)

    def _draw(self, points: list[KindPoint], roofs, note: str) -> None:
        self._shown_points = points
        for item in self.points.values():
            empty(item)
        entries = []
        for point in points:
            item = self._point_item(point.kind)
            item.setData([point.intensity], [point.flops_per_s])
            fraction = point.fraction_of_roofline
            entries.append((item, point.kind if fraction is None else f"{point.kind}: {percent(fraction)} of roofline"))
        self.legend.set_entries(entries)
        self.note.set(note)
        self.plot.setTitle(CALIBRATE_HINT if points and roofs is None else None, color=theme.MUTED_TEXT, size="9pt")
        self._draw_roofs(points, roofs)

    def _draw_roofs(self, points: list[KindPoint], roofs) -> None:
        if not points:
            empty(self.roof)
            self.bandwidth_label.setVisible(False)
            self.compute_label.setVisible(False)
            return
        intensities = [p.intensity for p in points] + ([roofs.ridge_intensity] if roofs else [])
        rates = [p.flops_per_s for p in points] + ([roofs.flops_per_s] if roofs else [])
        x_low, x_high = decades(min(intensities), max(intensities))
        y_low, y_high = decades(min(rates), max(rates))
        if roofs is not None:
            # the roofs run on past the view's edges
            left, right = 10.0 ** (x_low - EDGE_DECADES), 10.0 ** (x_high + EDGE_DECADES)
            ridge = roofs.ridge_intensity
            self.roof.setData([left, ridge, right],
                              [roofs.bandwidth_bytes_per_s * left, roofs.flops_per_s, roofs.flops_per_s])
            y_low = min(y_low, math.floor(math.log10(roofs.bandwidth_bytes_per_s * 10.0 ** x_low)))
            # Labels sit above their roof: the bandwidth's just below the ridge (decode points
            # gather further left, near 1 FLOP/byte), the compute roof's at its right end.
            # Positions are in the view's log10 units.
            under_ridge = max(ridge / BANDWIDTH_LABEL_BELOW_RIDGE, left)
            self.bandwidth_label.setText(si(roofs.bandwidth_bytes_per_s, "B/s"))
            self.bandwidth_label.setPos(math.log10(under_ridge), math.log10(roofs.bandwidth_bytes_per_s * under_ridge))
            self.compute_label.setText(si(roofs.flops_per_s, "FLOP/s"))
            self.compute_label.setPos(x_high, math.log10(roofs.flops_per_s))
        else:
            empty(self.roof)
        self.bandwidth_label.setVisible(roofs is not None)
        self.compute_label.setVisible(roofs is not None)
        # Set once per run, not followed: an axis lays its text out again on every range change.
        self.plot.setXRange(x_low - EDGE_DECADES, x_high + EDGE_DECADES, padding=0)
        self.plot.setYRange(y_low - EDGE_DECADES, y_high + EDGE_DECADES, padding=0)

    def clear(self) -> None:
        self._draw([], None, "")
        self._drawn = None

    def plotted(self) -> dict:
        """Per kind: [intensity, FLOP/s] as drawn; the roofs' corners; the texts on the chart."""
        drawn = {kind: [float(x[0]), float(y[0])] for kind, (x, y) in
                 ((kind, item.getOriginalDataset()) for kind, item in self.points.items()) if x is not None and len(x)}
        roof_x, roof_y = self.roof.getOriginalDataset()
        return {
            "roofline_points": drawn,
            "roofline_legend": [label.text for _sample, label in self.legend.items],
            "roofline_roof": [] if roof_x is None or not len(roof_x) else [roof_x.tolist(), roof_y.tolist()],
            "roofline_roof_labels": [label.toPlainText() for label in (self.bandwidth_label, self.compute_label)
                                     if label.isVisible()],
            "roofline_hint": self.plot.titleLabel.text if self.plot.titleLabel.isVisible() else "",
            "roofline_note": self.note.text,
        }

    def has_data(self) -> bool:
        return bool(self._shown_points)

