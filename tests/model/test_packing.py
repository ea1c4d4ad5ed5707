"""The decode layout (app/model/packing.py): q/k/v and gate/up computed by one matmul over
one input-major matrix that backs the separate parameters. A user sees the same model --
names, shapes, values, tied head -- and the same logits; converting the model afterwards
falls back to the separate projections instead of reading stale weights."""

import torch

from app.model import build_model
from app.spec.hf import spec_from_hf_config

CONFIG = {"model_type": "qwen2", "vocab_size": 96, "hidden_size": 48, "intermediate_size": 80,
          "num_hidden_layers": 2, "num_attention_heads": 6, "num_key_value_heads": 2, "rms_norm_eps": 1e-6,
          "tie_word_embeddings": True}


def unpacked_copy(model):
    """The same weights as plain contiguous tensors, in a model that was never packed."""
    plain = build_model(model.spec, dtype=model.embed_tokens.weight.dtype)
    plain.load_state_dict({name: tensor.contiguous() for name, tensor in model.state_dict().items()})
    for module in plain.modules():  # build_model packs; undo it by giving every parameter its own storage
        for name, parameter in module.named_parameters(recurse=False):
            parameter.data = parameter.data.clone()
    return plain


def test_packed_parameters_keep_names_shapes_values_and_share_one_matrix():
    spec = spec_from_hf_config(CONFIG)
    model = build_model(spec, seed=3)
    reference = build_model(spec, seed=3)
    assert [(n, p.shape) for n, p in model.named_parameters()] == [(n, p.shape) for n, p in
                                                                    reference.named_parameters()]
    attention, mlp = model.layers[1].mixer, model.layers[1].ffn
    assert attention.q_proj.weight.shape == (48, 48) and attention.k_proj.weight.shape == (16, 48)
    # one storage behind q, k and v (and their biases), another behind gate and up
    assert attention.q_proj.weight.untyped_storage().data_ptr() == attention.v_proj.weight.untyped_storage().data_ptr()
    assert attention.q_proj.bias.untyped_storage().data_ptr() == attention.k_proj.bias.untyped_storage().data_ptr()
    assert mlp.gate_proj.weight.untyped_storage().data_ptr() == mlp.up_proj.weight.untyped_storage().data_ptr()
    assert model.lm_head.weight is model.embed_tokens.weight


def test_packed_model_gives_the_logits_of_the_separate_projections():
    model = build_model(spec_from_hf_config(CONFIG), seed=1)
    with torch.no_grad():
        for parameter in model.parameters():  # in place: the packed matrices see it
            parameter.add_(torch.randn_like(parameter) * 0.05)
    plain = unpacked_copy(model)
    input_ids = torch.randint(0, 96, (2, 9), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(model(input_ids), plain(input_ids), atol=1e-5, rtol=0)
        assert model.layers[0].mixer.qkv is not None and plain.layers[0].mixer.qkv is None  # dropped as stale
        cache = model.new_cache(2, 9)
        steps = [model(input_ids[:, :4], cache=cache)] + [model(input_ids[:, i:i + 1], cache=cache)
                                                          for i in range(4, 9)]
        torch.testing.assert_close(torch.cat(steps, dim=1), plain(input_ids), atol=1e-5, rtol=0)


def test_converting_a_packed_model_falls_back_to_the_separate_projections():
    model = build_model(spec_from_hf_config(CONFIG), seed=2)
    input_ids = torch.randint(0, 96, (1, 5), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = model(input_ids)
        model.to(torch.float64)  # new storage for every parameter: the packed matrices are stale
        after = model(input_ids)
    assert model.layers[0].mixer.qkv is None and model.layers[0].ffn.gate_up is None
    assert after.dtype == torch.float64
    torch.testing.assert_close(after.float(), before, atol=1e-4, rtol=0)


def test_the_cpu_layout_is_input_major_in_float32_and_row_major_in_half_precision():
    """What torch's CPU BLAS streams fastest: float32 input-major, bfloat16 row-major (read
    input-major it ran 8x slower), with the same logits either way."""
    spec = spec_from_hf_config(CONFIG)
    for dtype, input_major in ((torch.float32, True), (torch.bfloat16, False)):
        model = build_model(spec, dtype=dtype, seed=3)
        for weight in (model.layers[0].ffn.down_proj.weight, model.layers[0].mixer.qkv.weight, model.lm_head.weight):
            assert weight.t().is_contiguous() is input_major and weight.is_contiguous() is not input_major
    ids = torch.tensor([[3, 1, 4, 1, 5]])
    half = build_model(spec, dtype=torch.bfloat16, seed=3)
    torch.testing.assert_close(half(ids), unpacked_copy(half)(ids), rtol=0, atol=0)
