"""GGUF checkpoints: the two embedded real models continue text exactly as transformers
does from the same file, their specs are the catalog's, and malformed files are named
errors rather than crashes."""

import os
import struct

import numpy as np
import pytest
import torch
from gguf import GGUFWriter

from app.runtime.generate import generate
from app.spec import catalog
from app.weights import WeightsError, load_pretrained
from app.weights.embedded import embedded_path
from app.weights.gguf_reader import GGUFFile

transformers = pytest.importorskip("transformers")
pytest.importorskip("accelerate")  # transformers reads GGUF only with it

MODELS = ["smollm2-135m", "gemma3-270m"]
NEW_TOKENS = 32


@pytest.fixture(scope="module")
def ours():
    """Expanded to float32, as transformers reads them (native low-bit runs are
    tests/weights/test_gguf_native.py's)."""
    return {name: load_pretrained(f"embedded:{name}", weights="dequantize") for name in MODELS}


@pytest.fixture(scope="module")
def theirs():
    """transformers' own reading of the same files (its GGUF loader dequantizes with gguf)."""
    loaded = {}
    for name in MODELS:
        folder, file = os.path.split(embedded_path(name))
        model = transformers.AutoModelForCausalLM.from_pretrained(folder, gguf_file=file, dtype=torch.float32)
        loaded[name] = model.eval()
    return loaded


def reference_greedy(model, input_ids: torch.Tensor, count: int) -> list[int]:
    """Greedy decoding through transformers' cache, never stopping at an end token."""
    tokens = []
    with torch.no_grad():
        out = model(input_ids, use_cache=True)
        for _ in range(count):
            token = out.logits[:, -1].argmax(-1, keepdim=True)
            tokens.append(token.item())
            out = model(token, past_key_values=out.past_key_values, use_cache=True)
    return tokens


def prompts(name: str, tokenizer) -> dict[str, list[int]]:
    if name == "smollm2-135m":
        chat = tokenizer.apply_chat_template("What is the tallest mountain in Europe?")
    else:  # the Gemma GGUF is the base model and carries no chat template: its turn markup typed out
        chat = tokenizer.encode("<start_of_turn>user\nWhat is the tallest mountain in Europe?<end_of_turn>\n"
                                "<start_of_turn>model\n")
    return {
        "plain": tokenizer.encode("The three primary colours are"),
        "chat": chat,
        "unicode": tokenizer.encode("Café crème, 東京タワー and 🚀 rockets:\n  -"),
    }


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_greedy_continuations_match_transformers(ours, theirs, name):
    tokenizer = ours[name].tokenizer
    for kind, ids in prompts(name, tokenizer).items():
        input_ids = torch.tensor([ids])
        mine = generate(ours[name].model, input_ids, NEW_TOKENS)[0].tolist()
        reference = reference_greedy(theirs[name], input_ids, NEW_TOKENS)
        assert mine == reference, f"{name} {kind}: {tokenizer.decode(mine)!r} != {tokenizer.decode(reference)!r}"


@pytest.mark.slow
@pytest.mark.parametrize("name", MODELS)
def test_logits_match_transformers_exactly(ours, theirs, name):
    ids = torch.tensor([ours[name].tokenizer.encode("Logits agree to the last bit: 1, 2, 3")])
    with torch.no_grad():
        torch.testing.assert_close(ours[name].model(ids), theirs[name](ids).logits, atol=1e-5, rtol=0)


def test_llama_query_and_key_rows_are_unpermuted(ours, theirs):
    """llama.cpp interleaves each head's rotary halves in q/k rows; ours are back in
    Hugging Face order, the same matrices transformers reads."""
    mine, reference = ours["smollm2-135m"].model.layers[3].mixer, theirs["smollm2-135m"].model.layers[3].self_attn
    assert torch.equal(mine.q_proj.weight, reference.q_proj.weight)
    assert torch.equal(mine.k_proj.weight, reference.k_proj.weight)
    assert torch.equal(mine.v_proj.weight, reference.v_proj.weight)


def test_gemma_norms_store_the_offset_from_one(ours):
    """The file stores Gemma's norm multipliers (1 + w); our (1 + w) norms keep w."""
    file = GGUFFile(embedded_path("gemma3-270m"))
    block = ours["gemma3-270m"].model.layers[2]
    for ours_norm, theirs in [(block.pre_mixer_norm, "attn_norm"), (block.post_ffn_norm, "post_ffw_norm"),
                              (block.mixer.q_norm, "attn_q_norm")]:
        stored = file.tensor(f"blk.2.{theirs}.weight")
        assert torch.equal(ours_norm.weight + 1.0, stored)
    assert ours["gemma3-270m"].spec.embedding_scale


@pytest.mark.parametrize("name", MODELS)
def test_spec_from_gguf_metadata_is_the_catalog_entry(ours, name):
    """Every published number agrees, so the whole architecture must be equal; SmolLM2 is
    Llama with tied embeddings, Gemma 3 has its sandwich (1 + w) norms, 5:1 windows and
    sqrt(d) embedding scale."""
    spec = ours[name].spec
    assert spec == catalog.get(name)
    assert spec.tie_embeddings
    assert ours[name].model.lm_head.weight is ours[name].model.embed_tokens.weight


def test_loads_in_the_requested_dtype(ours):
    half = load_pretrained("embedded:smollm2-135m", dtype=torch.bfloat16, weights="dequantize").model
    full = ours["smollm2-135m"].model
    assert half.embed_tokens.weight.dtype == torch.bfloat16
    assert torch.equal(half.layers[0].ffn.down_proj.weight, full.layers[0].ffn.down_proj.weight.to(torch.bfloat16))


# --- malformed files --------------------------------------------------------------------


def write_gguf(path, arch="llama", tensors=None, **fields):
    writer = GGUFWriter(str(path), arch)
    for key, value in fields.items():
        writer.add_uint32(key, value)
    for name, array in (tensors or {"token_embd.weight": np.zeros((4, 32), np.float32)}).items():
        writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_not_a_gguf_file(tmp_path):
    path = tmp_path / "model.gguf"
    path.write_bytes(b"PK\x03\x04 definitely a zip")
    with pytest.raises(WeightsError, match=r"model\.gguf: not a GGUF file"):
        load_pretrained(path)


def test_a_truncated_header_names_the_file_and_field(tmp_path):
    source = embedded_path("smollm2-135m")
    path = tmp_path / "cut.gguf"
    with open(source, "rb") as handle:
        path.write_bytes(handle.read(200_000))  # ends inside the vocabulary
    with pytest.raises(WeightsError, match=r"cut\.gguf: header field 'tokenizer\.ggml\.tokens' runs past the end"):
        load_pretrained(path)


def test_a_corrupt_count_names_the_field(tmp_path):
    path = tmp_path / "bad.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**40))
    with pytest.raises(WeightsError, match=r"bad\.gguf: header field 'metadata key #0' runs past the end"):
        load_pretrained(path)
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 7, 0, 0))
    with pytest.raises(WeightsError, match=r"bad\.gguf: header field 'version' is 7"):
        load_pretrained(path)


def test_an_unsupported_architecture_names_the_field(tmp_path):
    path = write_gguf(tmp_path / "rwkv.gguf", arch="rwkv6")
    with pytest.raises(WeightsError, match=r"rwkv\.gguf: metadata field 'general\.architecture' is 'rwkv6'; "
                                           r"supported GGUF architectures: llama"):
        load_pretrained(path)


def test_one_part_of_a_split_file_says_to_merge_the_parts(tmp_path):
    path = write_gguf(tmp_path / "big-00001-of-00003.gguf", **{"split.count": 3, "split.no": 0})
    with pytest.raises(WeightsError, match=r"big-00001-of-00003\.gguf: part 1 of a GGUF split into 3 files; "
                                           r"merge them"):
        load_pretrained(path)


def test_an_unknown_quantization_type_names_the_tensor(tmp_path):
    path = write_gguf(tmp_path / "odd.gguf")
    data = bytearray(path.read_bytes())
    name = b"token_embd.weight"
    at = data.index(name) + len(name) + 4 + 2 * 8  # after the name, n_dims and two dims: the type id
    data[at:at + 4] = struct.pack("<I", 250)
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=r"odd\.gguf: tensor token_embd\.weight has unknown GGML quantization "
                                           r"type 250"):
        load_pretrained(path)


def test_truncated_tensor_data_names_the_tensor(tmp_path):
    path = write_gguf(tmp_path / "short.gguf", tensors={"token_embd.weight": np.ones((64, 32), np.float32)})
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(WeightsError, match=r"short\.gguf: tensor token_embd\.weight .* truncated"):
        load_pretrained(path)


def test_missing_metadata_is_named(tmp_path):
    path = write_gguf(tmp_path / "bare.gguf", **{"llama.embedding_length": 32})
    with pytest.raises(WeightsError, match=r"bare\.gguf: metadata field 'llama\.attention\.head_count' is missing"):
        load_pretrained(path)
