"""The inspector: every field of the selected box (its layers' mixer, feed-forward or
norms; the model's own fields for the embedding/head), edited through undo commands,
with the validation problems of those fields shown under them."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Literal, get_args, get_origin

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..spec.on_device import ffn_fraction
from ..spec.validation import new_problems
from .commands import (
    InsertGroup,
    MoveGroup,
    RemoveGroup,
    SetFfnFraction,
    SetGroupRepeat,
    SetLayerField,
    SetSpecField,
    get_path,
)
from .document import SpecDocument

SPEC_FIELDS = ("vocab_size", "d_model", "tie_embeddings", "embedding_scale", "max_context", "final_logit_softcap",
               "mtp_layers")
LAYER_FIELDS = ("norm_placement", "norm.kind", "norm.eps", "norm.unit_offset")
MATFORMER_STEPS = 16  # the slider's positions: sixteenths of the trained FFN width


def _editable_fields(obj: Any, prefix: str) -> list[tuple[str, Any]]:
    """(dotted path, type) of scalar fields, one level into nested dataclasses."""
    result = []
    hints = typing.get_type_hints(type(obj))
    for field in dataclasses.fields(obj):
        value = getattr(obj, field.name)
        path = f"{prefix}.{field.name}" if prefix else field.name
        if dataclasses.is_dataclass(value):
            if prefix.count(".") < 1:
                result.extend(_editable_fields(value, path))
            continue
        hint = hints[field.name]
        if isinstance(value, (bool, int, float, str)) or get_origin(hint) is Literal:
            result.append((path, hint))
    return result


class Inspector(QScrollArea):
    refused = Signal(str)  # an edit that would make the spec invalid, and why it was not made

    def __init__(self, document: SpecDocument, parent=None):
        super().__init__(parent)
        self.document = document
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.target = None  # (indices, slot, group_index) or None for the model's own fields
        self.editors: dict[str, QWidget] = {}
        self.problem_labels: dict[str, QLabel] = {}
        self._paths: tuple[str, ...] = ()
        self._build()
        document.changed.connect(self.refresh)

    # --- what is shown -------------------------------------------------------------------------

    def show_box(self, item) -> None:
        if item is None or not getattr(item, "layer_indices", None):
            target = None
        else:
            target = (list(item.layer_indices), item.slot or "layer", item.group_index)
        if target == self.target:
            self.refresh()  # the same box redrawn: keep the editors (and the focus)
            return
        self.target = target
        self._build()

    def _fields(self) -> list[tuple[str, Any]]:
        spec = self.document.spec
        if self.target is None:
            hints = typing.get_type_hints(type(spec))
            return [(name, hints[name]) for name in SPEC_FIELDS]
        indices, slot, _ = self.target
        layer = spec.layers[indices[0]]
        if slot == "mixer":
            return _editable_fields(layer.mixer, "mixer") if layer.mixer is not None else []
        if slot == "ffn":
            return _editable_fields(layer.ffn, "ffn") if layer.ffn is not None else []
        hints = {"norm_placement": typing.get_type_hints(type(layer))["norm_placement"]}
        hints.update({f"norm.{name}": hint for name, hint in typing.get_type_hints(type(layer.norm)).items()})
        return [(path, hints[path]) for path in LAYER_FIELDS]

    def _layout_key(self) -> tuple:
        """What the page shows: its fields, and the MatFormer slider on a nested model's page."""
        slider = self.target is None and self.document.spec.matformer is not None
        return tuple(path for path, _ in self._fields()) + (("<matformer>",) if slider else ())

    def _title(self) -> str:
        if self.target is None:
            return f"Model · {self.document.spec.name}"
        indices, slot, _ = self.target
        what = {"mixer": "Token mixer", "ffn": "Feed-forward", "norm": "Norms"}.get(slot, "Layer")
        span = f"layer {indices[0]}" if len(indices) == 1 else f"{len(indices)} layers ({indices[0]}…{indices[-1]})"
        return f"{what} · {span}"

    def _build(self) -> None:
        page = QWidget()
        layout = QVBoxLayout(page)
        title = QLabel(self._title())
        title.setObjectName("sectionTitle")
        title.setWordWrap(True)
        layout.addWidget(title)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        self.editors, self.problem_labels = {}, {}
        fields = self._fields()
        self._paths = self._layout_key()
        for path, hint in fields:
            editor = self._editor(path, hint)
            self.editors[path] = editor
            problem = QLabel()
            problem.setObjectName("problem")
            problem.setWordWrap(True)
            problem.hide()
            self.problem_labels[path] = problem
            column = QVBoxLayout()
            column.setSpacing(0)
            column.addWidget(editor)
            column.addWidget(problem)
            label = QLabel(path.split(".", 1)[-1] if self.target else path)
            label.setToolTip(path)
            form.addRow(label, column)
        if not fields:
            layout.addWidget(QLabel("Nothing to edit here: drop a component on this box."))
        layout.addLayout(form)
        self.other_problems = QLabel()
        self.other_problems.setObjectName("problem")
        self.other_problems.setWordWrap(True)
        layout.addWidget(self.other_problems)
        self.matformer_slider = None
        if self.target is not None:
            layout.addWidget(self._group_controls())
        elif self.document.spec.matformer is not None:
            layout.addWidget(self._matformer_control())
        layout.addStretch(1)
        self.setWidget(page)
        self.refresh()

    def _matformer_control(self) -> QWidget:
        """MatFormer (Gemma 3n): slide the FFN width down to the nested smaller models."""
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 8, 0, 0)
        self.matformer_label = QLabel()
        self.matformer_label.setWordWrap(True)
        slider = QSlider(Qt.Horizontal)
        slider.setRange(1, MATFORMER_STEPS)
        slider.setPageStep(2)
        slider.setToolTip("MatFormer: every feed-forward layer keeps the first part of its trained width, "
                          "as Gemma 3n E2B is nested inside E4B")
        slider.valueChanged.connect(self._slide_matformer)
        self.matformer_slider = slider
        column.addWidget(self.matformer_label)
        column.addWidget(slider)
        self._show_matformer()
        return box

    def _show_matformer(self) -> None:
        spec = self.document.spec
        if self.matformer_slider is None or spec.matformer is None:
            return
        fraction = ffn_fraction(spec)
        self.matformer_slider.blockSignals(True)
        self.matformer_slider.setValue(max(1, round(fraction * MATFORMER_STEPS)))
        self.matformer_slider.blockSignals(False)
        self.matformer_label.setText(f"MatFormer width: {fraction:.0%} of the trained feed-forward width "
                                     f"({spec.matformer.full_intermediate_size:,})")

    def _slide_matformer(self, value: int) -> None:
        self._push(SetFfnFraction(self.document, value / MATFORMER_STEPS))

    def _group_controls(self) -> QWidget:
        group_index = self.target[2]
        group = self.document.groups[group_index] if group_index < len(self.document.groups) else None
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 8, 0, 0)
        heading = QLabel("Layer group")
        heading.setObjectName("sectionTitle")
        layout.addWidget(heading)
        if group is None:
            return box
        caption = QLabel(group.label())
        caption.setWordWrap(True)
        layout.addWidget(caption)
        row = QHBoxLayout()
        row.addWidget(QLabel("repeat"))
        repeat = QSpinBox()
        repeat.setRange(1, 512)
        repeat.setValue(group.repeat if len(group.runs) > 1 else group.size)
        repeat.setToolTip("How many times this group's pattern repeats")
        repeat.editingFinished.connect(lambda: repeat.value() != (group.repeat if len(group.runs) > 1 else group.size)
                                       and self._push(SetGroupRepeat(self.document, group_index, repeat.value())))
        self.repeat_editor = repeat
        row.addWidget(repeat)
        layout.addLayout(row)
        buttons = QHBoxLayout()
        self.group_buttons: dict[str, QPushButton] = {}
        count = len(self.document.groups)
        for text, tip, enabled, make in (
            ("Earlier", "Move the group before the previous one", group_index > 0,
             lambda: MoveGroup(self.document, group_index, -1)),
            ("Later", "Move the group after the next one", group_index < count - 1,
             lambda: MoveGroup(self.document, group_index, 1)),
            ("Duplicate", "Insert a copy of this group after it (then change the copy by dropping components)",
             True, lambda: self._duplicate(group_index)),
            ("Remove", "Remove the group's layers", count > 1, lambda: RemoveGroup(self.document, group_index)),
        ):
            button = QPushButton(text)
            self.group_buttons[text] = button
            button.setToolTip(tip)
            button.setEnabled(enabled)
            button.clicked.connect(lambda _=False, make=make: self._push(make()))
            buttons.addWidget(button)
        layout.addLayout(buttons)
        return box

    def _duplicate(self, group_index: int) -> InsertGroup:
        group = self.document.groups[group_index]
        layers = self.document.spec.layers[group.start:group.stop]
        return InsertGroup(self.document, group_index + 1, list(layers), f"Duplicate {group.label()}")

    def _push(self, command) -> None:
        self.document.undo_stack.push(command)

    def _editor(self, path: str, hint) -> QWidget:
        if get_origin(hint) is Literal:
            editor = QComboBox()
            editor.addItems([str(value) for value in get_args(hint)])
            editor.currentTextChanged.connect(lambda text, p=path: self._set(p, text))
        elif hint is bool:
            editor = QCheckBox()
            editor.toggled.connect(lambda value, p=path: self._set(p, bool(value)))
        elif hint is int:
            editor = QSpinBox()
            editor.setMinimumWidth(60)
            editor.setRange(0, 100_000_000)
            editor.setKeyboardTracking(False)
            editor.valueChanged.connect(lambda value, p=path: self._set(p, int(value)))
        elif hint is float:
            editor = QDoubleSpinBox()
            editor.setDecimals(6)
            editor.setRange(0.0, 1e12)
            editor.setKeyboardTracking(False)
            editor.valueChanged.connect(lambda value, p=path: self._set(p, float(value)))
        else:
            editor = QLabel()
        return editor

    def _value(self, path: str):
        spec = self.document.spec
        if self.target is None:
            return get_path(spec, path)
        return get_path(spec.layers[self.target[0][0]], path)

    def _set(self, path: str, value) -> None:
        if self._updating or self._value(path) == value:
            return
        if self.target is None:
            command = SetSpecField(self.document, path, value)
        else:
            command = SetLayerField(self.document, self.target[0], path, value)
        problems = new_problems(self.document.spec, command.after)
        if problems:
            problem = problems[0]
            # Refused, not applied: a spec that cannot be built never reaches the summary,
            # the canvas or a run. The editor goes back to the value the spec still has.
            self.refresh()
            label = self.problem_labels.get(path)
            if label is not None:
                label.setText(f"{value} refused: {problem.message}")
                label.setVisible(True)
            self.refused.emit(f"Refused {path.split('.')[-1]} = {value}: {problem}")
            return
        self._push(command)

    _updating = False

    # --- values and problems -------------------------------------------------------------------

    def refresh(self) -> None:
        if self.target is not None and max(self.target[0]) >= self.document.spec.num_layers:
            self.target = None
        if self._layout_key() != self._paths:
            self._build()
            return
        self._updating = True
        try:
            for path, editor in self.editors.items():
                value = self._value(path)
                for widget_type, setter in ((QComboBox, "setCurrentText"), (QCheckBox, "setChecked"),
                                            (QSpinBox, "setValue"), (QDoubleSpinBox, "setValue")):
                    if isinstance(editor, widget_type):
                        getattr(editor, setter)(str(value) if widget_type is QComboBox else value)
        finally:
            self._updating = False
        self._show_matformer()
        self._show_problems()

    def _show_problems(self) -> None:
        prefix = "" if self.target is None else f"layers[{self.target[0][0]}]."
        shown = {path: [] for path in self.problem_labels}
        others = []
        for problem in self.document.spec.validate():
            path = problem.path
            if prefix and not path.startswith(prefix):
                continue
            local = path[len(prefix):]
            if local in shown:
                shown[local].append(problem.message)
            elif self.target is None and "layers[" in path:
                others.append(str(problem))
            else:
                others.append(f"{local}: {problem.message}" if local else problem.message)
        for path, label in self.problem_labels.items():
            label.setText("\n".join(shown[path]))
            label.setVisible(bool(shown[path]))
        self.other_problems.setText("\n".join(others[:6]))
        self.other_problems.setVisible(bool(others))
