"""What every dashboard plot shares: the view base class and its layout (plots side by
side or stacked, a note when too small to draw), theme colours and pens, axes with units
and whole-number ticks, held ranges, legends that fit their plot, byte units and centred
notes.

Each view owns its pyqtgraph items for its whole life and refreshes them with setData /
setOpts / setImage: the dashboard refreshes at 10-20 Hz while a run streams."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import QGraphicsItem, QLabel

from .. import theme
from .record import RunRecord

READABLE_ASPECT = 1.6  # width over height at which a plot reads best
LEAST_CELL_PX = (140, 110)  # width, height: below either a plot's ticks and titles collide
LEGIBLE_CELL_PX = (140, 165)  # a view box of 120 px or more above the axis and its title
TOO_SMALL_TEXT = "Too small to draw: drag this dock's edge to enlarge it"
AXIS_PEN = "#aab2bf"
GRID_PEN = (170, 178, 191, 60)  # AXIS_PEN, faint
EXPORT_SIZE = (960, 600)  # pixels, for a view that is not on screen
LEGEND_BRUSH = (255, 255, 255, 150)  # see-through: what it covers still shows
LEGEND_TEXT_SIZE = "8pt"  # a point below the axes': a legend sits over the data
LEGEND_TEXT_MARGIN = 6  # pixels a cut name takes beyond its text
LEGEND_LEAST_TEXT_PX = 40  # a name cut shorter than this says nothing
LEGEND_HEADROOM = 1.5  # a bar plot's scale over its tallest bar: its legend sits in the top third


def colour(kind: str) -> str:
    """The saturated (border) colour of a component kind: the fills are too pale to plot."""
    return theme.KIND_COLOURS.get(kind, theme.KIND_COLOURS["none"])[1]


def pale(kind: str) -> str:
    return theme.KIND_COLOURS.get(kind, theme.KIND_COLOURS["none"])[0]


def pen(colour_: str, dashed: bool = False, dotted: bool = False, width: float = 2.0):
    style = Qt.DashLine if dashed else Qt.DotLine if dotted else Qt.SolidLine
    return pg.mkPen(colour_, width=width, style=style)


def styled_plot(layout: pg.GraphicsLayout, row: int, x_label: str, y_label: str, x_units: str | None = None,
                y_units: str | None = None, axis_items: dict | None = None, whole_numbers: str = "") -> pg.PlotItem:
    """A plot in `row` of the layout with the dashboard's axes; whole_numbers ("x", "y" or
    "xy") names the axes that count layers, steps or experts."""
    axis_items = dict(axis_items or {})
    for name, letter in (("bottom", "x"), ("left", "y")):
        if name not in axis_items:
            axis_items[name] = WholeNumberAxis(name)
            axis_items[name].whole_numbers = letter in whole_numbers
    plot = layout.addPlot(row=row, col=0, axisItems=axis_items)
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(AXIS_PEN)
        axis.setTextPen(theme.MUTED_TEXT)
        axis.enableAutoSIPrefix(False)
        # Replaying an axis' QPicture lays its text out again, ~2 ms an axis on every repaint
        # of the plot; a pixmap cache blits it until the axis itself changes.
        axis.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
    plot.setLabel("bottom", x_label, units=x_units, color=theme.MUTED_TEXT)
    plot.setLabel("left", y_label, units=y_units, color=theme.MUTED_TEXT)
    add_grid(plot)
    return plot


def add_grid(plot: pg.PlotItem) -> pg.PlotCurveItem:
    """Faint horizontal lines at the left axis' major ticks, behind the data, as one curve
    that follows the view's range. pyqtgraph's own grid (showGrid) is painted by the axis,
    and in software rendering re-painting it costs ~13 ms whenever the axis changes."""
    lines = pg.PlotCurveItem(pen=pg.mkPen(GRID_PEN, width=1), connect="pairs")
    lines.setZValue(-100)
    plot.addItem(lines, ignoreBounds=True)
    axis = plot.getAxis("left")

    def follow(_view, ranges) -> None:
        (x_low, x_high), (y_low, y_high) = ranges
        levels = axis.tickValues(y_low, y_high, max(axis.size().height(), 1.0))
        major = np.asarray(levels[0][1] if levels else [], dtype=float)
        lines.setData(np.tile([x_low, x_high], len(major)), np.repeat(major, 2))

    plot.getViewBox().sigRangeChanged.connect(follow)
    plot.grid_lines = lines
    return lines


class FittingLegend(pg.LegendItem):
    """A legend in as many columns (up to its most) as fit the width of its plot: a wide
    plot reads its entries in one line, a narrow one in a column, none runs past the plot."""

    def __init__(self, most_columns: int, **options):
        super().__init__(colCount=most_columns, **options)
        self.most_columns = most_columns
        self.room = math.inf  # the width it may take, from its plot's view box

    def addItem(self, item, name) -> None:
        super().addItem(item, name)
        self.fit()

    def set_entries(self, entries: list[tuple]) -> None:
        """All its entries at once, (item, name) each: one fit, not one per entry (a fit
        re-lays the legend out, a few ms each)."""
        self.clear()
        for item, name in entries:
            super().addItem(item, name)
        self.fit()

    def fit(self, room: float | None = None) -> None:
        """The most columns that fit `room`; in one column, names too long for it end in
        "…" (each keeps its whole name as a tooltip)."""
        self.room = self.room if room is None else room
        self._name_labels(lambda label, name: name)
        self.setVisible(True)
        for columns in range(self.most_columns, 0, -1):
            self.setColumnCount(columns)
            if self.width() <= self.room:
                return
        if math.isfinite(self.room):
            widest = max((label.width() for _sample, label in self.items), default=0.0)
            text_room = widest - (self.width() - self.room) - LEGEND_TEXT_MARGIN  # the row's, less the overflow
            # swatches without a word are no legend: then none, until the plot widens
            self.setVisible(text_room >= LEGEND_LEAST_TEXT_PX)
            self._name_labels(lambda label, name: QFontMetricsF(label.item.font()).elidedText(
                name, Qt.ElideMiddle, max(text_room, 0.0)))

    def _name_labels(self, name_for) -> None:
        changed = False
        for _sample, label in self.items:
            name = label.__dict__.setdefault("whole_name", label.text)
            text = name_for(label, name)
            if text != label.text:
                label.setText(text)
                label.setToolTip(name if text != name else "")
                changed = True
        if changed:
            self.setGeometry(0, 0, 0, 0)  # its rows then take their texts' widths, not the last width
            self.layout.activate()
            self.updateSize()


def add_legend(plot: pg.PlotItem, offset=(10, 2), columns: int = 4) -> FittingLegend:
    """A see-through legend in the plot's corner, cached as a pixmap: it changes far less
    often than the data under it, and its text costs a layout on every repaint otherwise."""
    legend = FittingLegend(columns, offset=offset, labelTextColor=theme.TEXT, labelTextSize=LEGEND_TEXT_SIZE,
                           brush=LEGEND_BRUSH, verSpacing=-4)
    legend.setParentItem(plot.getViewBox())
    plot.legend = legend  # where plot(name=...) adds its entry
    legend.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
    view = plot.getViewBox()
    view.sigResized.connect(lambda *_: legend.fit(view.width() - 2 * abs(offset[0])))
    return legend


class WholeNumberAxis(pg.AxisItem):
    """An axis of whole numbers (layers, steps, experts, tokens) when `whole_numbers` is
    set: pyqtgraph's own spacing, which follows the axis' length in pixels, rounded up to
    1, 2 or 5 x 10^k so that no tick falls between two layers."""

    whole_numbers = False

    def tickSpacing(self, minVal: float, maxVal: float, size: float):
        levels = super().tickSpacing(minVal, maxVal, size)
        if not self.whole_numbers:
            return levels
        whole: list[tuple[float, float]] = []
        for spacing, _offset in levels:
            rounded = whole_spacing(spacing)
            if all(rounded != kept for kept, _ in whole):
                whole.append((rounded, 0.0))
        return whole


def whole_spacing(spacing: float) -> float:
    """The least of 1, 2, 5 x 10^k at or above spacing, and never below 1."""
    scale = 1.0
    while True:
        for step in (1.0, 2.0, 5.0):
            if step * scale >= spacing * (1 - 1e-9):
                return step * scale
        scale *= 10.0


NICE_STEPS = (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0)


def nice_ceiling(value: float) -> float:
    """The least of 1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^k at or above value."""
    if value <= 0:
        return 1.0
    scale = 10.0 ** math.floor(math.log10(value))
    return next(step * scale for step in NICE_STEPS if step * scale >= value * (1 - 1e-9))


def hold_range(plot: pg.PlotItem, axis: str, high: float, low: float = 0.0, patience: int = 0) -> None:
    """Show low..ceiling on `axis` ("x" or "y"). The ceiling moves to the next nice number
    when the data outgrows it, and down when the data falls below a third of it (a new
    run) on more than `patience` calls in a row, so that a value that spikes now and then
    (a latest step's time) does not flip the scale back and forth. An axis lays its ticks
    and text out again whenever its range changes (~3 ms, and a repaint of the plot), so a
    range that followed the data grew on every refresh."""
    held = plot.__dict__.setdefault("held_ranges", {})
    span = max(high - low, 0.0)
    current = held.get(axis)  # (low, ceiling, calls in a row below a third of it)
    if current is not None and current[0] == low and span <= current[1]:
        below = current[2] + 1 if span < current[1] / 3 else 0
        if below <= patience:
            held[axis] = (low, current[1], below)
            return
    ceiling = nice_ceiling(span)
    held[axis] = (low, ceiling, 0)
    if axis == "x":
        plot.setXRange(low, low + ceiling, padding=0)
    else:
        plot.setYRange(low, low + ceiling, padding=0)


def forget_ranges(plot: pg.PlotItem) -> None:
    """A new record: its own values set the scale again, whatever `patience` held."""
    plot.__dict__.pop("held_ranges", None)


def byte_unit(largest: float) -> tuple[str, int]:
    for name, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if largest >= size:
            return name, size
    return "bytes", 1


def layer_kinds(record: RunRecord) -> tuple[list[str], list[str]]:
    """The theme kind of each layer's mixer and feed-forward ("mla", "sliding", "moe", ...),
    read from the record's spec document; plain "attention"/"ffn" when it has none."""
    spec = record.spec()
    if spec is not None:
        return [theme.mixer_kind(layer.mixer) for layer in spec.layers], [theme.ffn_kind(layer.ffn) for layer in spec.layers]
    moe = set(record.moe_layers)
    return ["attention"] * record.num_layers, ["moe" if i in moe else "ffn" for i in range(record.num_layers)]


def values(item) -> list:
    """What a curve holds now, y values as a plain list."""
    _x, y = item.getData()
    return [] if y is None else y.tolist()


def xs(item) -> list:
    x, _y = item.getData()
    return [] if x is None else x.tolist()


def bar_values(item: pg.BarGraphItem, key: str = "height") -> list:
    """What a BarGraphItem draws now: its bars' heights (or "x", "y0"), as a plain list."""
    value = item.opts.get(key)
    return [] if value is None else np.atleast_1d(np.asarray(value, dtype=float)).tolist()


def empty(item) -> None:
    item.setData([], [])


class Note:
    """A grey line of text centred in a plot's view, whatever the zoom: "no MoE layers"."""

    def __init__(self, plot: pg.PlotItem):
        self.view = plot.getViewBox()
        self.item = pg.TextItem("", color=theme.MUTED_TEXT, anchor=(0.5, 0.5))
        self.item.setParentItem(self.view)
        self.item.setVisible(False)
        self.view.sigResized.connect(self._place)

    @property
    def text(self) -> str:
        return self.item.toPlainText() if self.item.isVisible() else ""

    def set(self, text: str) -> None:
        if text != self.text:
            self.item.setText(text)
            self.item.setVisible(bool(text))
            self._place()

    def _place(self, *_args) -> None:
        self.item.setPos(self.view.rect().center())


def reads_better(cell: tuple[float, float], other: tuple[float, float]) -> bool:
    """Whether a plot in a cell of (width, height) reads better than in `other`: legible
    where the other is not, else nearer READABLE_ASPECT."""
    def legible(width: float, height: float) -> bool:
        return width >= LEGIBLE_CELL_PX[0] and height >= LEGIBLE_CELL_PX[1]

    def distance(width: float, height: float) -> float:
        return abs(math.log(max(width, 1.0) / max(height, 1.0) / READABLE_ASPECT))

    if legible(*cell) != legible(*other):
        return legible(*cell)
    return distance(*cell) < distance(*other)


class PlotCanvas(pg.GraphicsLayoutWidget):
    """A GraphicsLayoutWidget that tells its view when it is resized."""

    _resized = None  # pyqtgraph resizes the view inside its own __init__, before this is set

    def __init__(self, resized):
        super().__init__()
        self._resized = resized

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._resized is not None:
            self._resized()


class PlotView:
    """One dock's worth of plots in a GraphicsLayoutWidget, white like the app.

    A view's plots are built one per row (with whatever sits beside each, such as a
    legend); each resize lays them out one above the other or side by side, whichever
    keeps each plot nearer a readable shape, so that a wide, low dock (the plot row under
    the canvas) does not stack two plots of a few pixels each. A dock too small for any
    plot to be read says so instead of drawing colliding ticks."""

    title = ""
    object_name = ""
    slug = ""
    row_weights: tuple[int, ...] = ()  # how plots one above the other share the height; even without

    def __init__(self):
        self.widget = PlotCanvas(self.arrange)
        self.widget.setBackground("w")
        self.widget.setObjectName(self.object_name + "Plot")
        self.layout: pg.GraphicsLayout = self.widget.ci
        self.too_small = QLabel(TOO_SMALL_TEXT, self.widget)
        self.too_small.setObjectName("tooSmallNote")
        self.too_small.setAlignment(Qt.AlignCenter)
        self.too_small.setWordWrap(True)
        self.too_small.setStyleSheet(f"background: white; color: {theme.MUTED_TEXT};")
        self.too_small.hide()
        self.side_by_side: bool | None = None  # None until the first resize lays the plots out
        self._built_at: dict = {}  # layout item -> its (row, column) as built, one plot a row
        self._overlay: RunRecord | None = None
        self._titled: list[pg.PlotItem] = []  # plots whose title names the overlaid runs

    def _rows(self) -> list[list[tuple[QGraphicsItem, int]]]:
        """The layout's items as built: per row, (item, column) left to right."""
        rows: dict[int, list] = {}
        for item, cells in self.layout.items.items():
            row, col = self._built_at.setdefault(item, cells[0])
            rows.setdefault(row, []).append((item, col))
        return [sorted(rows[row], key=lambda pair: pair[1]) for row in sorted(rows)]

    def arrange(self) -> None:
        rows = self._rows()
        width, height = self.widget.width(), self.widget.height()
        beside = [sum(item.width() for item, _col in row if not isinstance(item, pg.PlotItem)) for row in rows]
        # the room each plot gets, less what sits beside it (a legend in its own column)
        across_cell = ((width - sum(beside)) / max(len(rows), 1), height)
        stacked_cell = (width - max(beside, default=0.0), height / max(len(rows), 1))
        across = len(rows) > 1 and reads_better(across_cell, stacked_cell)
        cell_width, cell_height = across_cell if across else stacked_cell
        self.too_small.setGeometry(self.widget.rect())
        self.too_small.setVisible(bool(rows) and (cell_width < LEAST_CELL_PX[0] or cell_height < LEAST_CELL_PX[1]))
        if across == self.side_by_side:
            return
        self.side_by_side = across
        grid = self.layout.layout
        span = max(col for row in rows for _item, col in row) + 1  # columns a row uses
        for row in rows:
            for item, _col in row:
                grid.removeItem(item)
        weights = self.row_weights or (1,) * len(rows)
        for index, row in enumerate(rows):
            for item, col in row:
                cell = (0, index * span + col) if across else (index, col)
                grid.addItem(item, *cell)
                self.layout.items[item] = [cell]
            if across:  # side by side each plot has a width to itself: even shares
                grid.setRowStretchFactor(index, 1 if index == 0 else 0)
                for col in range(span):
                    grid.setColumnStretchFactor(index * span + col, 1 if col == 0 else 0)
            else:
                grid.setRowStretchFactor(index, weights[index])
                for col in range(span):
                    grid.setColumnStretchFactor(index * span + col, 1 if index == 0 and col == 0 else 0)
        self.layout.rows = {}
        for item, cells in self.layout.items.items():
            for row, col in cells:
                self.layout.rows.setdefault(row, {})[col] = item
        grid.invalidate()

    def show(self, record: RunRecord) -> None:
        raise NotImplementedError

    def overlay(self, record: RunRecord | None, primary: RunRecord | None) -> None:
        """Draw a second run's series dashed (views that compare runs override this)."""

    def clear(self) -> None:
        raise NotImplementedError

    def plotted(self) -> dict:
        raise NotImplementedError

    def has_data(self) -> bool:
        return True

    def caption(self, primary: RunRecord | None) -> None:
        """With an overlay, each compared plot's title says which run is solid and which dashed."""
        text = ""
        if self._overlay is not None:
            first = primary.label if primary is not None else "this run"
            text = f"{first} (solid) vs {self._overlay.label} (dashed)"
        for plot in self._titled:
            current = plot.titleLabel.text if plot.titleLabel.isVisible() else ""
            if text != current:
                plot.setTitle(text or None, color=theme.MUTED_TEXT, size="9pt")

    def export_png(self, path: Path) -> Path:
        """The plot as the user sees it (QWidget.grab: the same fonts and legends), laid out
        at EXPORT_SIZE whether it is on screen or not: a plot in a tab behind another keeps
        the few pixels it had when the docks were built, and would be written as a stamp.
        It goes back to its size before anything is painted."""
        size = self.widget.size()
        self._lay_out_at(QSize(*EXPORT_SIZE))
        try:
            image = self.widget.grab()
        finally:
            self._lay_out_at(size)
        if not image.save(str(path), "PNG"):
            raise OSError(f"{path}: the PNG could not be written")
        return path

    def _lay_out_at(self, size: QSize) -> None:
        self.widget.resize(size)  # on screen the resize event comes at once; off it, grab() sends it
        self.layout.layout.activate()
