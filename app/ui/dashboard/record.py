"""A profile run as the dashboard reads it: plain lists per step, built step by step while
a run streams or at once from a saved snapshot ("archscope.profile/1"). No Qt, no torch."""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Iterable

import numpy as np

from ...runtime.figures import StepTime, decode_tokens_per_s
from ...spec import ArchSpec
from ...spec.serialize import spec_from_dict

MEMORY_KEYS = ("allocated", "reserved", "device_used", "rss")


class GrowingRows:
    """Rows of one width appended to a numpy array that doubles its storage when full, so
    reading every row so far is a view, not a conversion of nested Python lists (61 layers
    x thousands of steps would cost a refresh tens of ms). A row of another width makes
    the whole ragged: `view()` is then None."""

    def __init__(self):
        self._data = np.empty((0, 0))
        self.count = 0
        self.ragged = False

    def append(self, row) -> None:
        if self.count and len(row) != self._data.shape[1]:
            self.ragged = True
            return
        if self.count == len(self._data):
            grown = np.empty((max(64, 2 * self.count), len(row)))
            if self.count:
                grown[:self.count] = self._data
            self._data = grown
        self._data[self.count] = row
        self.count += 1

    def view(self) -> np.ndarray | None:
        return None if self.ragged else self._data[:self.count]


class RunRecord:
    """The run so far. `steps` holds the snapshot's step dicts unchanged (add them with
    add_step, never to the list itself). Every series the plots read (per step: context,
    KV totals, memory, tokens/s, the layers' times; routing totals per layer) is extended
    as steps arrive, so that reading one costs nothing however long the run grows (61
    layers x 256 experts per step)."""

    def __init__(self, model: dict | None = None, label: str | None = None, batch: int | None = None,
                 scale: str | None = None):
        """scale: the run's (the snapshot's run["scale"]); None when not known."""
        self.model: dict = dict(model or {})
        self.scale = scale
        self.steps: list[dict] = []
        self.text: str = ""
        self.label: str = label if label is not None else str(self.model.get("name", "run"))
        self.batch = batch  # None: read from each step's token ids
        # The snapshot's "run" section (batch, prompt tokens, the roofs used): known once the
        # run has ended or its snapshot is opened; None while it streams.
        self.run: dict | None = None
        # A parallel run's "ranks" section (app/parallel/snapshot.py): every rank's steps, known
        # once the run has ended or its snapshot is opened; None for a run on one process.
        self.ranks: dict | None = None
        self._spec: ArchSpec | None | bool = False  # False: not parsed yet (see spec())
        spec_layers = (self.model.get("spec") or {}).get("layers") or []
        self._spec_layers: list[dict] = [layer if isinstance(layer, dict) else {} for layer in spec_layers]
        self._routing: dict[int, list[int]] = {}
        self._index: list[int] = []
        self._seq_len: list[int] = []
        self._kv_total: list[int] = []
        self._kv_predicted_total: list[int] = []
        self._memory: dict[str, list[int]] = {key: [] for key in MEMORY_KEYS}
        self._decode: list[bool] = []
        self._tokens_per_s: list[float] = []
        self._decode_wall_ms: list[float] = []
        self._decode_batch = 1  # the decode steps' batch, for the run's tokens/s
        # the timed parts summed, of the decode steps and of the prefill (see step_time)
        self._decode_time, self._prefill_time = StepTime(), StepTime()
        self._layer_ms = GrowingRows()  # steps x layers, for the steps the probe timed
        # While a run streams: the steps it will take at most. The step axes span them from
        # the start, so they hold still instead of re-laying out as the run grows.
        self.planned_steps = 0

    def spec(self) -> ArchSpec | None:
        """The run's architecture, parsed from the model's spec document once (parsing and
        validating a 61-layer spec takes ~10 ms, too long to repeat in every view at a
        run's end); None when the record has none this version can read."""
        if self._spec is False:
            try:
                self._spec = spec_from_dict(self.model["spec"]) if self.model.get("spec") else None
            except Exception:  # noqa: BLE001 - an old or hand-made snapshot still plots, without its spec
                self._spec = None
        return self._spec

    # --- building -------------------------------------------------------------------

    def add_step(self, step, text: str = "") -> None:
        """step: a dict as in the snapshot (`dataclasses.asdict(StepRecord)`) or a StepRecord."""
        if dataclasses.is_dataclass(step) and not isinstance(step, type):
            step = dataclasses.asdict(step)
        index = step.get("index", len(self.steps))
        self.steps.append(step)
        if text:
            self.text = text
        self._index.append(index)
        self._seq_len.append(step["seq_len"])
        self._kv_total.append(sum(step.get("kv_bytes") or ()))
        self._kv_predicted_total.append(sum(step.get("kv_bytes_predicted") or ()))
        memory = step.get("memory") or {}
        for key, series in self._memory.items():
            series.append(int(memory.get(key, 0)))
        decode = step.get("phase") == "decode"
        self._decode.append(decode)
        if decode:
            batch = self.batch or len(step.get("tokens") or ()) or 1
            wall_ms = step.get("wall_ms") or 0.0
            self._tokens_per_s.append(1000.0 / wall_ms * batch if wall_ms > 0 else 0.0)
            self._decode_wall_ms.append(wall_ms)
            self._decode_batch = batch
        (self._decode_time if decode else self._prefill_time).add(step)
        if step.get("layer_ms"):
            self._layer_ms.append(step["layer_ms"])
        for layer, counts in (step.get("routing") or {}).items():
            total = self._routing.get(int(layer), [])
            if len(total) < len(counts):
                total = total + [0] * (len(counts) - len(total))
            elif len(counts) < len(total):
                counts = list(counts) + [0] * (len(total) - len(counts))
            self._routing[int(layer)] = list(map(operator.add, total, counts))

    def add_updates(self, updates: Iterable) -> None:
        """The worker's `steps` signal payload: objects with `.record` (a StepRecord) and `.text`."""
        for update in updates:
            self.add_step(update.record, getattr(update, "text", ""))

    @classmethod
    def from_snapshot(cls, doc: dict, label: str | None = None) -> RunRecord:
        run = doc.get("run") or {}
        record = cls(doc.get("model") or {}, label, run.get("batch"), run.get("scale"))
        record.run = dict(run)
        record.ranks = doc.get("ranks")
        for step in doc.get("steps") or []:
            record.add_step(step)
        record.text = run.get("completion", "") or ""
        return record

    # --- the model --------------------------------------------------------------------

    @property
    def num_layers(self) -> int:
        layers = self.model.get("layers") or self._spec_layers
        if layers:
            return len(layers)
        for step in self.steps:
            if step.get("kv_bytes") or step.get("layer_ms"):
                return len(step.get("kv_bytes") or step.get("layer_ms"))
        return 0

    @property
    def moe_layers(self) -> list[int]:
        """Indices of the layers whose feed-forward is a mixture of experts (from the spec;
        from the routing seen so far when the model dict carries no spec)."""
        if self._spec_layers:
            return [i for i, layer in enumerate(self._spec_layers) if (layer.get("ffn") or {}).get("kind") == "moe"]
        return sorted(self._routing)

    def num_experts(self, layer: int) -> int:
        if layer < len(self._spec_layers):
            ffn = self._spec_layers[layer].get("ffn") or {}
            if ffn.get("kind") == "moe":
                return int(ffn.get("num_experts", 0))
        return len(self._routing.get(layer, ()))

    def top_k(self, layer: int) -> int:
        if layer < len(self._spec_layers):
            return int((self._spec_layers[layer].get("ffn") or {}).get("top_k", 0))
        return 0

    # --- per step ---------------------------------------------------------------------

    def step_span(self) -> int:
        """How many steps the step axes show: the planned run's while it streams."""
        return max(len(self.steps), self.planned_steps)

    @property
    def step_index(self) -> list[int]:
        return list(self._index)

    @property
    def seq_len(self) -> list[int]:
        return list(self._seq_len)

    def layer_ms_matrix(self) -> np.ndarray | None:
        """steps x layers of per-layer times (a view: do not write to it); None unless the
        probe timed every step with the same layers."""
        rows = self._layer_ms.view()
        return rows if rows is not None and len(rows) == len(self.steps) and len(rows) else None

    def decode_mask(self) -> np.ndarray:
        """Per step: is it a decode step."""
        return np.asarray(self._decode, dtype=bool)

    def kv_total(self) -> list[int]:
        return list(self._kv_total)

    def kv_predicted_total(self) -> list[int]:
        return list(self._kv_predicted_total)

    @property
    def memory(self) -> dict[str, list[int]]:
        """Bytes per step for each of allocated, reserved, device_used (0 on CPU) and rss."""
        return {key: list(series) for key, series in self._memory.items()}

    def decode_steps(self) -> list[int]:
        """Step indices of the decode steps, the x of `tokens_per_s()`."""
        return [index for index, decode in zip(self._index, self._decode) if decode]

    def tokens_per_s(self) -> list[float]:
        """Per decode step: batch tokens / wall time (1000 / wall_ms x batch)."""
        return list(self._tokens_per_s)

    def decode_tokens_per_s(self) -> float:
        """The run's decode speed so far, as its snapshot's summary defines it (tokens over
        the decode steps' seconds), not the mean of the per-step rates."""
        return decode_tokens_per_s(self._decode_wall_ms, self._decode_batch)

    def step_time(self) -> StepTime:
        """The timed decode steps summed (the prefill until one is timed): what the canvas
        tint and the status line divide into shares of the step."""
        return self._decode_time if self._decode_time.steps else self._prefill_time

    # --- routing ----------------------------------------------------------------------

    def routing_totals(self) -> dict[int, list[int]]:
        """{layer index: tokens routed to each expert, summed over the run's steps}. Each
        layer's counts sum to tokens x top_k (prefill counts every prompt token)."""
        return {layer: list(counts) for layer, counts in sorted(self._routing.items())}

    def load_balance(self) -> dict[int, float]:
        """{layer index: max expert load / mean expert load} over the run so far.

        1.0 is a perfectly even spread; the worst possible is num_experts / top_k (every
        token on the same top_k experts). Layers that routed no token yet are left out."""
        balance = {}
        for layer, counts in sorted(self._routing.items()):
            total = sum(counts)
            if total and counts:
                balance[layer] = max(counts) / (total / len(counts))
        return balance


@dataclasses.dataclass
class SweepRecord:
    """A context sweep (the snapshot's "sweep" section: one dict per context length, as
    app/runtime/sweep.py's SweepPoint): decode cost and cache bytes against context."""

    contexts: list[int]
    decode_ms: list[float]  # median decode time per token at each context
    kv_bytes: list[int]
    kv_bytes_predicted: list[int]
    layer_ms: list[list[float]]  # per context, per layer (empty rows without the probe)
    label: str = "sweep"

    @classmethod
    def from_points(cls, points: Iterable, label: str = "sweep") -> SweepRecord:
        rows = sorted((dataclasses.asdict(p) if dataclasses.is_dataclass(p) else dict(p) for p in points),
                      key=lambda row: row["context_len"])
        return cls([int(r["context_len"]) for r in rows], [float(r["decode_ms"]) for r in rows],
                   [int(r["kv_bytes"]) for r in rows], [int(r["kv_bytes_predicted"]) for r in rows],
                   [list(r.get("layer_ms") or []) for r in rows], label)

    @classmethod
    def from_snapshot(cls, doc: dict, label: str | None = None) -> SweepRecord:
        """doc["sweep"] is a list of points (or {"points": [...]}); raises KeyError naming the
        section when the snapshot has none."""
        if "sweep" not in doc:
            raise KeyError("the snapshot has no \"sweep\" section: run a context sweep first")
        section = doc["sweep"]
        points = section.get("points", []) if isinstance(section, dict) else section
        name = label if label is not None else str((doc.get("model") or {}).get("name", "sweep"))
        return cls.from_points(points, name)


@dataclasses.dataclass
class BatchSweepRecord:
    """A batch sweep (the snapshot's "batch_sweep" section: one dict per batch size, as
    app/runtime/batch_sweep.py's BatchPoint), per token: what each batch size costs, whole
    and per layer kind, measured and (where the device was calibrated) predicted."""

    batches: list[int]
    ms_per_token: list[float]
    kind_ms_per_token: dict[str, list[float]]  # per roofline point kind, one value per batch
    predicted_ms_per_token: list[float | None]
    kind_ms_per_token_predicted: dict[str, list[float | None]]  # empty when nothing was predicted
    memory_bytes: list[int]
    kv_bytes: list[int]
    kv_bytes_predicted: list[int]
    context_len: int = 0
    label: str = "batch sweep"
    device: str = ""  # where it ran ("cpu", "cuda:0"): memory in use is the GPU's or the process'

    @property
    def predicted(self) -> bool:
        return any(value is not None for value in self.predicted_ms_per_token)

    @classmethod
    def from_points(cls, points: Iterable, label: str = "batch sweep", device: str = "") -> BatchSweepRecord:
        rows = sorted((dataclasses.asdict(p) if dataclasses.is_dataclass(p) else dict(p) for p in points),
                      key=lambda row: row["batch"])

        def per_token(key: str) -> dict[str, list[float | None]]:
            kinds = list(dict.fromkeys(kind for row in rows for kind in (row.get(key) or {})))
            return {kind: [(row[key][kind] / row["batch"]) if kind in (row.get(key) or {}) else None
                           for row in rows] for kind in kinds}

        return cls([int(r["batch"]) for r in rows], [float(r["ms_per_token"]) for r in rows],
                   per_token("kind_ms"), [r.get("predicted_ms_per_token") for r in rows],
                   per_token("kind_ms_predicted"), [int(r["memory_bytes"]) for r in rows],
                   [int(r["kv_bytes"]) for r in rows], [int(r["kv_bytes_predicted"]) for r in rows],
                   int(rows[0]["context_len"]) if rows else 0, label, device)

    @classmethod
    def from_snapshot(cls, doc: dict, label: str | None = None) -> BatchSweepRecord:
        """Raises KeyError naming the section when the snapshot has none."""
        if "batch_sweep" not in doc:
            raise KeyError("the snapshot has no \"batch_sweep\" section: run a batch sweep first")
        model = doc.get("model") or {}
        name = label if label is not None else str(model.get("name", "batch sweep"))
        return cls.from_points(doc["batch_sweep"], name, str(model.get("device", "")))
