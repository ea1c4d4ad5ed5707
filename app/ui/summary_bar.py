"""The live summary bar: total and active parameters, KV bytes per token, KV held at a
chosen context, FLOPs per token, problems; recomputed from analyze() on every change."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QVBoxLayout

from ..dtypes import BY_NAME
from ..spec import ArchSpec
from ..spec.analysis import analyze
from ..units import human_bytes, human_count

CONTEXTS = (4_096, 32_768, 131_072, 1_048_576)
KV_DTYPES = ("bfloat16", "fp8", "float32")  # the KV dtype choices, the first the default


class SummaryBar(QFrame):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("summaryBar")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 10, 4)
        layout.setSpacing(18)
        self.values: dict[str, QLabel] = {}
        for key, caption, tip in (
            ("total", "total params", "Every weight of the model, all experts counted"),
            ("active", "active / token", "Weights one token passes through: routed experts count top-k times"),
            ("kv_token", "KV / token", "Cache bytes each new token adds (while windows still fill)"),
            ("kv_context", "KV at context", "Cache and recurrent-state bytes held at the chosen context"),
            ("flops", "FLOPs / token", "Forward FLOPs of one token at the chosen context"),
        ):
            box = QVBoxLayout()
            box.setSpacing(0)
            value = QLabel("-")
            value.setObjectName("summaryValue")
            value.setToolTip(tip)
            label = QLabel(caption)
            label.setObjectName("summaryCaption")
            box.addWidget(value)
            box.addWidget(label)
            layout.addLayout(box)
            self.values[key] = value
        layout.addStretch(1)
        self.context = QComboBox()
        self.context.setToolTip("Context length for 'KV at context' and 'FLOPs / token'")
        for context in CONTEXTS:
            self.context.addItem(f"{context // 1024}k" if context < 1_048_576 else "1M", context)
        self.context.setCurrentIndex(2)
        self.dtype = QComboBox()
        self.dtype.setToolTip("Element type of the KV cache")
        for name in KV_DTYPES:
            self.dtype.addItem(BY_NAME[name].label, BY_NAME[name].bytes_per_value)
        for caption, combo in (("context", self.context), ("KV dtype", self.dtype)):
            box = QVBoxLayout()
            box.setSpacing(0)
            box.addWidget(combo)
            label = QLabel(caption)
            label.setObjectName("summaryCaption")
            box.addWidget(label)
            layout.addLayout(box)
            combo.currentIndexChanged.connect(self._refresh)
        self.spec: ArchSpec | None = None
        self.kv_bytes_per_token = 0  # the figure shown, for tests and tooltips

    def set_spec(self, spec: ArchSpec) -> None:
        self.spec = spec
        self._refresh()

    def _refresh(self) -> None:
        if self.spec is None:
            return
        analysis = analyze(self.spec)
        dtype_bytes = self.dtype.currentData()
        context = self.context.currentData()
        self.kv_bytes_per_token = analysis.kv_bytes_per_token(dtype_bytes)
        self.values["total"].setText(human_count(analysis.total_params))
        ple = analysis.per_layer_embedding_params
        self.values["total"].setToolTip(
            f"{analysis.total_params:,} parameters" + (f", of which {human_count(ple)} in per-layer embeddings "
                                                       "that can stay off the accelerator" if ple else ""))
        self.values["active"].setText(human_count(analysis.active_params))
        self.values["kv_token"].setText(human_bytes(self.kv_bytes_per_token))
        self.values["kv_context"].setText(human_bytes(analysis.kv_bytes_at(context, dtype_bytes)))
        self.values["flops"].setText(human_count(analysis.flops_per_token(context)))
        self.values["kv_token"].setToolTip(f"{self.kv_bytes_per_token:,} bytes per token")
