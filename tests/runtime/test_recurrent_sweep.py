"""A context sweep of a hybrid model: the Gated DeltaNet layers of explore-scale
Qwen3-Next hold the same bytes at every context, the full-attention layers grow by their
bytes per token, and every figure equals the analysis' prediction."""

import json

from app.cli import main
from app.spec import catalog
from app.spec.mixers import GatedDeltaNet
from app.spec.analysis import analyze

CONTEXTS = (16, 100, 600)  # 600: more than one 512-token prefill piece
DECODE_STEPS = 4  # context_sweep's default: the cache holds context + 4 tokens when measured


def test_sweep_of_a_hybrid_grows_only_in_its_attention_layers(tmp_path):
    name = "qwen3-next-80b-a3b"
    out = tmp_path / "sweep.json"
    assert main(["profile", "--arch", name, "--scale", "explore", "--max-new-tokens", "3", "--device", "cpu",
                 "--no-probe", "--sweep", ",".join(map(str, CONTEXTS)), "--out", str(out)]) == 0
    snapshot = json.loads(out.read_text())
    spec = catalog.get(name, "explore")
    rows = analyze(spec).layers
    recurrent = [i for i, layer in enumerate(spec.layers) if isinstance(layer.mixer, GatedDeltaNet)]
    attention = [i for i in range(spec.num_layers) if i not in recurrent]
    assert len(recurrent) == 3 * len(attention)  # the published 3:1 pattern

    # Per layer, step by step as the context grows during generation.
    steps = snapshot["steps"]
    for step in steps:
        assert step["kv_bytes"] == step["kv_bytes_predicted"]
    first, last = steps[0]["kv_bytes"], steps[-1]["kv_bytes"]
    grown = steps[-1]["seq_len"] - steps[0]["seq_len"]
    assert grown > 0
    for i in recurrent:
        assert first[i] == last[i] == rows[i].state_values * 4  # float32
    for i in attention:
        assert last[i] - first[i] == grown * rows[i].kv_bytes_per_token(4)

    # Across the sweep's contexts: the total moves by the attention layers' bytes per
    # token only; what stays is exactly the Gated DeltaNet states.
    points = snapshot["sweep"]
    assert [point["context_len"] for point in points] == list(CONTEXTS)
    attention_per_token = sum(rows[i].kv_bytes_per_token(4) for i in attention)
    state_bytes = sum(rows[i].state_values * 4 for i in recurrent)
    for point in points:
        assert point["kv_bytes"] == point["kv_bytes_predicted"]
        held = point["context_len"] + DECODE_STEPS
        assert point["kv_bytes"] - held * attention_per_token == state_bytes
