"""Defaults that the CLI, the worker and the UI share (plain values: no torch, no Qt)."""

DEFAULT_MODEL = "embedded:gemma3-270m"  # real weights that ship with the app
DEFAULT_PROMPT = "The key differences between modern large language model architectures are"
DEFAULT_SWEEP = (256, 1024, 4096)  # context lengths of a sweep, in tokens
DEFAULT_BATCH_SWEEP = (1, 4, 16, 64)  # batch sizes of a batch sweep
DEFAULT_BATCH_SWEEP_CONTEXT = 128  # tokens each row holds before a batch sweep's decode steps are timed
# how decode steps run: eager (each op from Python) or fast (compiled whole on the CPU,
# app/runtime/fast.py; a CUDA graph on a GPU, app/runtime/graphs.py)
EXECUTION_MODES = ("eager", "fast")
# How a GGUF file's quantized matrices run: kept in their low bits (app/model/lowbit.py) or
# expanded to the run's dtype.
WEIGHTS_CHOICES = ("native", "dequantize")
