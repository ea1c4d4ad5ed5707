"""Parallel runs of real weights: each rank reads its share of a safetensors checkpoint (the
one directory every rank sees), and the logits of a prefill and 16 decode steps equal the
single-process model loaded from the same files. The checkpoints are transformers' tiny
models with every weight moved off its initial value, so biases are not zero and a bias
added on every rank, or a slice read from the wrong rows, changes the logits."""

import pytest
import torch

from app.parallel.build import load_share
from app.parallel.launch import run_local
from app.parallel.run import ParallelJob
from app.spec.hf import spec_from_hf_config
from app.weights import load_pretrained
from app.weights.safetensors_dir import read_config

reference = pytest.importorskip("tests.parity.reference")

PROMPT_TOKENS, DECODE_STEPS = 5, 16

TINY = {
    # GQA 4/2, a tied vocabulary of 91 rows: blocks of 46 and 45
    "qwen3": dict(model_type="qwen3", vocab_size=91, hidden_size=32, intermediate_size=44, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, head_dim=8, tie_word_embeddings=True),
    # sinks, biases everywhere (the experts' too), sliding and full layers
    "gpt_oss": dict(model_type="gpt_oss", vocab_size=89, hidden_size=40, intermediate_size=26, num_hidden_layers=2,
                    num_attention_heads=4, num_key_value_heads=2, head_dim=12, num_local_experts=6,
                    num_experts_per_tok=2, sliding_window=5, layer_types=["sliding_attention", "full_attention"]),
    # Mamba-2 (whole on every rank), one KV head over two ranks, a dense MLP, and a latent MoE
    # between biased projections with a shared expert
    "nemotron_h": dict(model_type="nemotron_h", vocab_size=71, hidden_size=32, mamba_num_heads=6, mamba_head_dim=6,
                       ssm_state_size=5, conv_kernel=4, chunk_size=4, n_groups=3, n_routed_experts=6,
                       num_experts_per_tok=2, routed_scaling_factor=2.5, n_group=2, topk_group=1,
                       layers_block_type=["linear_attention", "moe", "full_attention", "mlp", "moe"],
                       num_attention_heads=2, num_key_value_heads=1, head_dim=12, intermediate_size=20,
                       moe_intermediate_size=10, moe_latent_size=7, moe_shared_expert_intermediate_size=12,
                       mlp_bias=True, tie_word_embeddings=False),
}
# (checkpoint, tp, ep)
RUNS = [("qwen3", 2, 1), ("gpt_oss", 2, 1), ("gpt_oss", 1, 2), ("nemotron_h", 2, 1), ("nemotron_h", 2, 2)]
IDS = [f"{name}-tp{tp}-ep{ep}" for name, tp, ep in RUNS]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    directories = {}
    for name, config in TINY.items():
        directory = tmp_path_factory.mktemp(name)
        reference.save_reference(config, directory)
        directories[name] = directory
    return directories


def spec_of(directory):
    return spec_from_hf_config(read_config(directory), name=directory.name)


def tokens_for(vocab_size: int):
    generator = torch.Generator().manual_seed(vocab_size)
    return (torch.randint(0, vocab_size, (2, PROMPT_TOKENS), generator=generator),
            torch.randint(0, vocab_size, (2, DECODE_STEPS), generator=generator))


@pytest.fixture(scope="module")
def runs(checkpoints):
    jobs = []
    for name, tp, ep in RUNS:
        directory = checkpoints[name]
        prompt, forced = tokens_for(TINY[name]["vocab_size"])
        jobs.append(ParallelJob(spec_of(directory), tp, ep, tuple(map(tuple, prompt.tolist())), DECODE_STEPS,
                                forced=tuple(map(tuple, forced.tolist())), checkpoint=str(directory)))
    return dict(zip(IDS, run_local(jobs)))


@torch.no_grad()
def single_process_logits(directory, prompt, forced) -> list[torch.Tensor]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = load_pretrained(directory).model
        cache = model.new_cache(prompt.shape[0], PROMPT_TOKENS + DECODE_STEPS)
        logits = [model(prompt, cache=cache)]
        logits += [model(forced[:, step:step + 1], cache=cache) for step in range(DECODE_STEPS)]
        return logits
    finally:
        torch.set_num_threads(threads)


@pytest.mark.parametrize("run", RUNS, ids=IDS)
def test_a_checkpoint_split_over_ranks_gives_the_single_process_logits(checkpoints, runs, run):
    name, tp, ep = run
    expected = single_process_logits(checkpoints[name], *tokens_for(TINY[name]["vocab_size"]))
    steps = runs[IDS[RUNS.index(run)]][0]["steps"]
    assert len(steps) == DECODE_STEPS + 1
    for index, (step, reference_logits) in enumerate(zip(steps, expected)):
        assert reference_logits.abs().max() > 0.1
        difference = (step["logits"] - reference_logits).abs().max().item()
        assert difference <= 1e-5, f"step {index}: logits differ by {difference}"


def test_a_model_type_without_a_name_map_is_refused_by_name(tmp_path, checkpoints):
    from dataclasses import replace

    from app.parallel.plan import plan_for
    from app.weights.errors import WeightsError

    plan = plan_for(replace(spec_of(checkpoints["qwen3"]), model_type="no_such_family"), 1)
    with pytest.raises(WeightsError, match="model_type 'no_such_family' is not supported"):
        load_share(plan, comm=None, directory=checkpoints["qwen3"])


def test_the_cli_splits_a_checkpoint_and_its_tokenizer_reads_and_writes_the_text(checkpoints, tmp_path, capsys):
    import json
    import shutil

    from tokenizers import Tokenizer, models, pre_tokenizers

    from app.cli import main

    directory = tmp_path / "qwen3-tiny"
    shutil.copytree(checkpoints["qwen3"], directory)
    words = {f"w{index}": index for index in range(TINY["qwen3"]["vocab_size"])}
    backend = Tokenizer(models.WordLevel(words, unk_token="w0"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    backend.save(str(directory / "tokenizer.json"))
    out = tmp_path / "run.json"
    assert main(["profile", "--model", str(directory), "--tp", "2", "--max-new-tokens", "3", "--prompt",
                 "w5 w17 w90", "--out", str(out)]) == 0
    document = json.loads(out.read_text())
    assert document["model"]["source"] == str(directory)
    assert document["run"]["scale"] == "real weights"
    assert document["run"]["prompt_tokens"] == 3  # the tokenizer's three words, not the prompt's 10 bytes
    completion = document["run"]["completion"].split()
    assert len(completion) == 3 and all(word in words for word in completion)
    assert "payloads: " in capsys.readouterr().out


def test_the_cli_names_what_a_parallel_run_cannot_read(tmp_path, capsys):
    from app.cli import main

    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"GGUF")
    assert main(["profile", "--model", str(weights), "--tp", "2"]) == 2
    assert "a parallel run reads a local Hugging Face model directory" in capsys.readouterr().err
