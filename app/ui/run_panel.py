"""The run panel: what to run (model source, device, dtype), how (prompt, tokens, sampling,
probe, ranks), the Run / Sweep / Batch sweep / Stop buttons and the progress of the work in
flight.

It only gathers and checks the user's choices; the main window turns them into worker
requests. A field that cannot work (an empty path, a folder that does not exist) is
named in the panel before anything is sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..gpus import nvidia_gpus
from ..defaults import DEFAULT_BATCH_SWEEP, DEFAULT_PROMPT, DEFAULT_SWEEP
from ..dtypes import RUN_DTYPE_NAMES
from ..parallel.plan import plan_problems
from ..spec import ArchSpec
from ..spec.spec_file import spec_from_file
from ..spec.scale import explore
from ..spec.serialize import spec_from_dict, spec_to_dict

CANVAS = "canvas"
SOURCES = [
    (CANVAS, "Architecture on the canvas (random weights)"),
    ("embedded:gemma3-270m", "Gemma 3 270M — embedded, real weights"),
    ("embedded:smollm2-135m", "SmolLM2 135M Instruct — embedded, real weights"),
    ("directory", "Local Hugging Face folder…"),
    ("gguf", "GGUF file…"),
    ("hub", "Hugging Face Hub repository"),
]
NEEDS_LOCATION = {"directory": "folder", "gguf": "GGUF file", "hub": "repository id"}
SCALES = [("explore", "explore scale (≤ 60M parameters)"),
          ("slice", "slice (published widths, a layer per kind)"),
          ("as drawn", "as drawn (full size)")]
MAX_RANKS = 8
MAX_PROBLEMS_SHOWN = 4  # of a split that does not divide: the rest are the same rule, layer after layer
NOT_YET_PARALLEL = ("A parallel run builds random weights for the architecture on the canvas (at explore scale or "
                    "as drawn),\nor reads a local Hugging Face folder's weights, each rank its share;\nnot yet GGUF "
                    "files, Hub ids, the slice scale, Fast mode, an image or the sweeps.")
TENSOR_PARALLEL_TIP = ("Tensor parallel: split every layer over this many ranks -- attention and Gated DeltaNet by "
                       "heads, MLA's up-projections by heads,\nMLPs by columns then rows -- with an all-reduce "
                       "after each. 1: no split.\nThe ranks are local processes started as torchrun does: gloo on "
                       "the CPU, or one GPU each (NCCL).\n" + NOT_YET_PARALLEL)
EXPERT_PARALLEL_TIP = ("Expert parallel: place each MoE layer's routed experts over this many ranks, the tokens "
                       "exchanged all-to-all. 1: no split.\nThe ranks are local processes started as torchrun "
                       "does: gloo on the CPU, or one GPU each (NCCL).\n" + NOT_YET_PARALLEL)


def folder_spec(location: str) -> ArchSpec:
    """The architecture a Hugging Face folder's config.json gives (read here, without
    torch: the plan is checked before any rank starts); ValueError naming the field or file."""
    if not location:
        raise ValueError("Folder: enter the folder to load")
    config_path = Path(location) / "config.json"
    if not config_path.is_file():
        raise ValueError(f"Folder: {location} has no config.json (expected a Hugging Face model folder)")
    return spec_from_file(config_path).spec  # (a SpecError, a ValueError, names the file and field)


def positive_ints(text: str, field: str, too_few: str) -> list[int]:
    """The distinct whole numbers of a comma-separated field, sorted; ValueError naming
    the field when one is not a number, or none is given or one is below 1 (`too_few`)."""
    try:
        numbers = sorted({int(part) for part in text.replace(";", ",").split(",") if part.strip()})
    except ValueError:
        raise ValueError(f"{field}: expected whole numbers separated by commas, got {text!r}") from None
    if not numbers or numbers[0] < 1:
        raise ValueError(f"{field}: {too_few}")
    return numbers


class RunPanel(QWidget):
    runRequested = Signal(dict, dict)  # load request, run settings
    parallelRunRequested = Signal(dict)  # a parallel run's settings (the worker's parallel_run)
    sweepRequested = Signal(dict, dict)  # load request, sweep settings
    batchSweepRequested = Signal(dict, dict)  # load request, batch sweep settings
    stopRequested = Signal()

    def __init__(self, canvas_spec: Callable[[], dict], parent=None):
        """canvas_spec: the spec document of the architecture on the canvas, asked at Run."""
        super().__init__(parent)
        self.canvas_spec = canvas_spec
        self._plan_problems_shown = ""  # the last split problem shown, taken away when the split is fixed
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)

        self.source = QComboBox()
        for key, text in SOURCES:
            self.source.addItem(text, key)
        self.source.setToolTip("Where the weights come from: random weights for the canvas architecture, "
                               "or a real checkpoint")
        self.source.currentIndexChanged.connect(self._source_changed)
        form.addRow("Model", self.source)

        self.location = QLineEdit()
        self.browse = QPushButton("Browse…")
        self.browse.clicked.connect(self._browse)
        location_row = QHBoxLayout()
        location_row.addWidget(self.location, 1)
        location_row.addWidget(self.browse)
        self.location_label = QLabel("Path")
        form.addRow(self.location_label, location_row)

        self.scale = QComboBox()
        for key, text in SCALES:
            self.scale.addItem(text, key)
        self.scale.currentIndexChanged.connect(self._parallel_changed)
        self.scale.setToolTip("Explore scale keeps the layer pattern and shrinks widths so it runs anywhere; "
                              "its times are of the stand-in. Slice runs one layer of each kind at the published "
                              "widths (experts trimmed to fit memory) and extrapolates to the whole model: the way "
                              "to time the real widths. As drawn builds the whole model.")
        form.addRow("Scale", self.scale)

        self.device = QComboBox()
        self.device.addItem("Auto (GPU if present)", "auto")
        for index, (name, memory) in enumerate(nvidia_gpus()):
            self.device.addItem(f"cuda:{index} — {name} ({memory / 2**30:.0f} GiB)", f"cuda:{index}")
        self.device.addItem("CPU", "cpu")
        form.addRow("Device", self.device)
        self.dtype = QComboBox()
        self.dtype.addItems(RUN_DTYPE_NAMES)
        self.dtype.setToolTip("Weights and activations; bfloat16 halves memory, float32 is the reference")
        self.weights = QComboBox()
        self.weights.addItem("GGUF low-bit", "native")
        self.weights.addItem("GGUF expanded", "dequantize")
        self.weights.setToolTip("A GGUF file's quantized matrices: low-bit keeps them in their 4 to 8 bits and "
                                "multiplies them as stored,\nas llama.cpp does (CPU); expanded turns them into "
                                "the dtype first, the exact values transformers reads")
        # on the dtype's row: a row more made the window's least height pass 800 pixels
        dtype_row = QHBoxLayout()
        dtype_row.addWidget(self.dtype, 1)
        dtype_row.addWidget(self.weights, 1)
        form.addRow("Dtype", dtype_row)

        self.prompt = QPlainTextEdit(DEFAULT_PROMPT)
        self.prompt.setFixedHeight(58)
        self.prompt.setToolTip("With random weights the prompt's bytes stand in for tokens")
        form.addRow("Prompt", self.prompt)
        self.chat = QCheckBox("Chat template")
        self.chat.setToolTip("Format the prompt with the checkpoint's chat template (real weights)")
        form.addRow("", self.chat)

        self.image = QLineEdit()
        self.image.setPlaceholderText("none: a generated test card")
        self.image.setToolTip("A vision model's image (PNG), placed before the prompt; "
                              "empty: a generated test card. Text-only models take none.")
        self.browse_image = QPushButton("Browse…")
        self.browse_image.clicked.connect(self._browse_image)
        image_row = QHBoxLayout()
        image_row.addWidget(self.image, 1)
        image_row.addWidget(self.browse_image)
        form.addRow("Image", image_row)

        self.max_new_tokens = _spin(1, 8192, 64, "New tokens to generate")
        form.addRow("New tokens", self.max_new_tokens)
        self.temperature = QDoubleSpinBox(minimum=0.0, maximum=5.0, singleStep=0.1, value=0.0, decimals=2)
        self.temperature.setToolTip("0 is greedy decoding")
        self.top_k = _spin(0, 100_000, 0, "Sample among the k likeliest tokens; 0: all")
        self.top_p = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.05, value=1.0, decimals=2)
        self.top_p.setToolTip("Nucleus sampling: the smallest set of tokens holding this probability")
        self.seed = _spin(0, 2**31 - 1, 0, "Seed of the random weights and of sampling")
        rows = [QHBoxLayout(), QHBoxLayout()]
        for row, pairs in zip(rows, ((("T", self.temperature), ("top-k", self.top_k)),
                                     (("top-p", self.top_p), ("seed", self.seed)))):
            for label, widget in pairs:
                row.addWidget(QLabel(label))
                row.addWidget(widget, 1)
        form.addRow("Sampling", rows[0])
        form.addRow("", rows[1])
        self.stop_at_eos = QCheckBox("Stop at end of text")
        self.stop_at_eos.setChecked(True)
        self.stop_at_eos.setToolTip("End the run when the model emits its end-of-sequence token (real weights)")
        form.addRow("", self.stop_at_eos)
        self.probe = QCheckBox("Per-layer probe")
        self.probe.setChecked(True)
        self.probe.setToolTip("Time every layer (attention vs FFN); off measures whole steps only")
        self.mode = QComboBox()
        self.mode.addItem("Eager", "eager")
        self.mode.addItem("Fast", "fast")
        self.mode.setToolTip("Eager: every op dispatched from Python, as written (no waiting).\n"
                             "Fast: the decode step compiled with torch.compile on the CPU (once per model "
                             "and batch,\nseconds to a minute), captured in a CUDA graph on a GPU; the probe "
                             "times every layer inside.\nIt measures the architecture rather than Python's "
                             "dispatch.")
        mode_row = QHBoxLayout()
        mode_row.addWidget(self.mode, 1)
        mode_row.addWidget(self.probe)
        form.addRow("Mode", mode_row)
        self.tensor_parallel = _spin(1, MAX_RANKS, 1, TENSOR_PARALLEL_TIP)
        self.tensor_parallel.setAccessibleName("Tensor parallel")
        self.expert_parallel = _spin(1, MAX_RANKS, 1, EXPERT_PARALLEL_TIP)
        self.expert_parallel.setAccessibleName("Expert parallel")
        parallel_row = QHBoxLayout()
        for label, spin in (("tensor", self.tensor_parallel), ("expert", self.expert_parallel)):
            name = QLabel(label)
            name.setToolTip(spin.toolTip())
            parallel_row.addWidget(name)
            parallel_row.addWidget(spin, 1)
            spin.valueChanged.connect(self._parallel_changed)
        self.parallel_label = QLabel("Parallel")
        self.parallel_label.setToolTip("Ranks a run is split over: tensor parallel and expert parallel")
        form.addRow(self.parallel_label, parallel_row)
        self.contexts = QLineEdit(", ".join(str(c) for c in DEFAULT_SWEEP))
        self.contexts.setToolTip("Context lengths for a sweep, comma-separated")
        self.batches = QLineEdit(", ".join(str(b) for b in DEFAULT_BATCH_SWEEP))
        self.batches.setToolTip("Batch sizes for a batch sweep, comma-separated: decode cost per token at each")
        # Both sweeps on one row: a row more made the window's least height pass 800 pixels.
        sweep_row = QHBoxLayout()
        sweep_row.setSpacing(4)
        for label, field in (("context", self.contexts), ("batch", self.batches)):
            field.setMinimumWidth(field.fontMetrics().horizontalAdvance(field.text()) + 12)  # its default, whole
            sweep_row.addWidget(QLabel(label))
            sweep_row.addWidget(field, 1)
        form.addRow("Sweep at", sweep_row)

        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("Load the model if needed and generate (Ctrl+Return)")
        self.run_button.clicked.connect(self.request_run)
        self.sweep_button = QPushButton("Sweep")
        self.sweep_button.setToolTip("Decode cost and cache bytes at each context length (Ctrl+Shift+Return)")
        self.sweep_button.clicked.connect(self.request_sweep)
        self.batch_sweep_button = QPushButton("Batch sweep")
        self.batch_sweep_button.setToolTip("Decode time per token, per layer kind, and memory at each batch size "
                                           "(Ctrl+Alt+Return)")
        self.batch_sweep_button.clicked.connect(self.request_batch_sweep)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop the run between two layers (Esc)")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.stopRequested)
        buttons = QHBoxLayout()
        for button in (self.run_button, self.sweep_button, self.batch_sweep_button, self.stop_button):
            buttons.addWidget(button)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("idle")
        self.progress.setValue(0)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addStretch(1)
        for combo in (self.source, self.scale, self.device, self.dtype, self.weights):
            # long item texts must not widen the dock: the combo elides, its popup shows them whole
            combo.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(5 if combo in (self.dtype, self.weights) else 12)  # two share a row
        self._source_changed()

    # --- choices ------------------------------------------------------------------------------

    def source_key(self) -> str:
        return self.source.currentData()

    def set_source(self, key: str, location: str = "") -> None:
        if self.source.findData(key) < 0 and key.startswith("embedded:"):
            self.source.addItem(key, key)  # another embedded name: loading says whether it exists
        self.source.setCurrentIndex(self.source.findData(key))
        self.location.setText(location)

    def _source_changed(self) -> None:
        key = self.source_key()
        needs = key in NEEDS_LOCATION
        self.location_label.setText(NEEDS_LOCATION.get(key, "Path").capitalize())
        for widget in (self.location, self.browse, self.location_label):
            widget.setVisible(needs)
        self.browse.setVisible(key in ("directory", "gguf"))
        self.location.setPlaceholderText("e.g. HuggingFaceTB/SmolLM2-135M" if key == "hub" else "")
        self.scale.setEnabled(key == CANVAS)
        self.weights.setEnabled(key == "gguf" or key.startswith("embedded:"))
        self.chat.setEnabled(key != CANVAS)
        self.stop_at_eos.setEnabled(key != CANVAS)
        self._parallel_changed()

    def _browse(self) -> None:
        if self.source_key() == "directory":
            path = QFileDialog.getExistingDirectory(self, "Hugging Face model folder")
        else:
            path, _ = QFileDialog.getOpenFileName(self, "GGUF file", "", "GGUF (*.gguf)")
        if path:
            self.location.setText(path)

    def _browse_image(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Image for a vision model", "", "PNG images (*.png)")
        if path:
            self.image.setText(path)

    def image_path(self) -> str | None:
        """The image field: None when empty; ValueError naming the field when it cannot load."""
        text = self.image.text().strip()
        if not text:
            return None
        if not Path(text).is_file():
            raise ValueError(f"Image: {text} does not exist")
        if Path(text).suffix.lower() != ".png":
            raise ValueError(f"Image: expected a PNG file, got {Path(text).name}")
        return text

    def load_request(self) -> dict:
        """The worker's load request for the current choices; ValueError naming the field
        that cannot work."""
        key = self.source_key()
        common = {"device": self.device.currentData(), "dtype": self.dtype.currentText(), "seed": self.seed.value()}
        if key == CANVAS:
            return {"spec": self.canvas_spec(), "scale": self.scale.currentData(), **common}
        if key.startswith("embedded:"):
            return {"source": key, "weights": self.weights.currentData(), **common}
        location = self.location.text().strip()
        what = NEEDS_LOCATION[key]
        if not location:
            raise ValueError(f"{what.capitalize()}: enter the {what} to load")
        if key == "directory" and not Path(location).is_dir():
            raise ValueError(f"Folder: {location} is not a folder")
        if key == "gguf" and not Path(location).is_file():
            raise ValueError(f"GGUF file: {location} does not exist")
        if key == "hub" and location.count("/") != 1:
            raise ValueError(f"Repository id: expected owner/name, got {location!r}")
        if key == "gguf":
            common["weights"] = self.weights.currentData()
        return {"source": location, **common}

    def run_settings(self) -> dict:
        return {
            "prompt": self.prompt.toPlainText(), "max_new_tokens": self.max_new_tokens.value(),
            "chat": self.chat.isChecked() and self.chat.isEnabled(), "probe": self.probe.isChecked(),
            "stop_at_eos": self.stop_at_eos.isChecked(), "mode": self.mode.currentData(),
            "temperature": self.temperature.value(), "top_k": self.top_k.value(), "top_p": self.top_p.value(),
            "seed": self.seed.value(), "image": self.image_path(),
        }

    # --- parallel runs --------------------------------------------------------------------------

    def parallel_possible(self) -> bool:
        """Whether the choices allow a parallel run: random weights for the canvas, at explore
        scale or as drawn, or a local Hugging Face folder's weights."""
        key = self.source_key()
        return (key == CANVAS and self.scale.currentData() != "slice") or key == "directory"

    def ranks(self) -> tuple[int, int]:
        """(tensor parallel, expert parallel) as the run will use them: (1, 1) where a parallel
        run is not possible."""
        if not self.parallel_possible():
            return 1, 1
        return self.tensor_parallel.value(), self.expert_parallel.value()

    def is_parallel(self) -> bool:
        return max(self.ranks()) > 1

    def parallel_spec(self) -> tuple[ArchSpec, str]:
        """The canvas architecture at the run's scale, with that scale's name in a snapshot;
        or the folder's, from its config.json (ValueError naming the field or file)."""
        if self.source_key() == "directory":
            return folder_spec(self.location.text().strip()), "real weights"
        drawn = spec_from_dict(self.canvas_spec())
        return (explore(drawn), "explore") if self.scale.currentData() == "explore" else (drawn, "full")

    def plan_problems(self) -> list[str]:
        """Why the canvas does not split over the ranks asked for, each naming its field
        (empty when it does, or when no split is asked for)."""
        tp, ep = self.ranks()
        if max(tp, ep) == 1:
            return []
        spec, _scale = self.parallel_spec()
        return plan_problems(spec, tp, ep)

    def plan_problems_text(self, problems: list[str]) -> str:
        """The problems under a line naming the two fields, the first few of a long list."""
        tp, ep = self.ranks()
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        what = "the folder's model" if self.source_key() == "directory" else "the canvas architecture"
        return "\n".join([f"Tensor parallel {tp}, expert parallel {ep}: {what} does not split:",
                          *shown] + ([f"(and {more} more)"] if more > 0 else []))

    def parallel_settings(self) -> dict:
        """The worker's parallel_run settings; ValueError naming the field that cannot work
        (a split that does not divide, a choice a parallel run does not take yet)."""
        tp, ep = self.ranks()
        mode = self.mode.currentData()
        if mode != "eager":
            raise ValueError(f"Mode: a parallel run (tensor {tp}, expert {ep}) runs eager; {self.mode.currentText()} "
                             f"is not supported yet")
        if self.image.text().strip():
            raise ValueError(f"Image: a parallel run (tensor {tp}, expert {ep}) takes no image yet; empty the field")
        problems = self.plan_problems()
        if problems:
            raise ValueError(self.plan_problems_text(problems))
        spec, scale = self.parallel_spec()
        checkpoint = {"checkpoint": self.location.text().strip()} if self.source_key() == "directory" else {}
        return {**checkpoint, "spec": spec_to_dict(spec), "scale": scale, "tp": tp, "ep": ep,
                "prompt": self.prompt.toPlainText(),
                "max_new_tokens": self.max_new_tokens.value(), "device": self.device.currentData(),
                "dtype": self.dtype.currentText(), "temperature": self.temperature.value(),
                "top_k": self.top_k.value(), "top_p": self.top_p.value(), "seed": self.seed.value()}

    def _parallel_changed(self) -> None:
        """The ranks' fields follow the source and scale; a split asked for is checked at
        once, so that a count that does not divide is named before Run is pressed."""
        possible = self.parallel_possible()
        for widget in (self.tensor_parallel, self.expert_parallel, self.parallel_label):
            widget.setEnabled(possible)
        self._enable_sweeps()
        problems = []
        if self.is_parallel():
            try:
                problems = self.plan_problems()
            except Exception as error:  # noqa: BLE001 - a drawing mid-edit, a folder half typed: Run names it
                problems = [str(error) if self.source_key() == "directory"
                            else f"the canvas architecture cannot be read: {error}"]
        if problems:
            self.show_error(self.plan_problems_text(problems))
            self._plan_problems_shown = self.message.text()
        elif self._plan_problems_shown and self.message.text() == self._plan_problems_shown:
            self.show_message("")  # the problem went with the count that caused it

    def _enable_sweeps(self) -> None:
        """The sweeps run on one process: off while a parallel run is chosen (or work is in flight)."""
        allowed = self.run_button.isEnabled() and not self.is_parallel()
        for button in (self.sweep_button, self.batch_sweep_button):
            button.setEnabled(allowed)

    def sweep_settings(self) -> dict:
        contexts = positive_ints(self.contexts.text(), "Sweep at",
                                 "give at least one context length of 1 token or more")
        return {"contexts": contexts, "probe": self.probe.isChecked()}

    def batch_sweep_settings(self) -> dict:
        text = self.batches.text()
        batches = positive_ints(text, "Sweep at batch", f"give batch sizes of 1 or more, got {text!r}")
        return {"batches": batches, "probe": self.probe.isChecked()}

    # --- requests -------------------------------------------------------------------------------

    def request_run(self) -> None:
        if self.is_parallel():
            if not self.run_button.isEnabled():
                return  # already busy
            try:
                settings = self.parallel_settings()
            except ValueError as problem:
                self.show_error(str(problem))
                return
            self.show_message("")
            self.parallelRunRequested.emit(settings)
            return
        self._request(self.runRequested, self.run_settings)

    def request_sweep(self) -> None:
        self._request(self.sweepRequested, self.sweep_settings)

    def request_batch_sweep(self) -> None:
        self._request(self.batchSweepRequested, self.batch_sweep_settings)

    def _request(self, signal, settings) -> None:
        if not self.run_button.isEnabled():
            return  # already busy
        if signal is not self.runRequested and self.is_parallel():
            tp, ep = self.ranks()
            self.show_error(f"Parallel: the sweeps run on one process; set tensor and expert parallel to 1 "
                            f"(now {tp} and {ep})")
            return
        try:
            request, chosen = self.load_request(), settings()
        except ValueError as problem:
            self.show_error(str(problem))
            return
        self.show_message("")
        signal.emit(request, chosen)

    # --- state shown ----------------------------------------------------------------------------

    def set_busy(self, busy: bool) -> None:
        self.run_button.setEnabled(not busy)
        self._enable_sweeps()
        self.stop_button.setEnabled(busy)
        if not busy:
            self.progress.setRange(0, 1)

    def show_progress(self, what: str, done: int, total: int) -> None:
        if total <= 0:
            self.progress.setRange(0, 0)  # busy indicator: the size is not known
            self.progress.setFormat(what)
            return
        self.progress.setRange(0, total)
        self.progress.setValue(min(done, total))
        unit = "MiB" if total > 1 << 20 else ""
        if unit:
            self.progress.setFormat(f"{what} {done / 2**20:.0f} / {total / 2**20:.0f} MiB")
        else:
            self.progress.setFormat(f"{what} {done} / {total}")

    def show_message(self, text: str) -> None:
        self.message.setStyleSheet("")
        self.message.setText(text)

    def show_error(self, text: str) -> None:
        self.message.setStyleSheet("color: #b3261e;")
        self.message.setText(text)


def _spin(low: int, high: int, value: int, tip: str) -> QSpinBox:
    spin = QSpinBox(minimum=low, maximum=high, value=value)
    spin.setToolTip(tip)
    return spin
