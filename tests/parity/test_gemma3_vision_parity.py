"""Gemma 3 with its vision front-end (method A, unified embedding) against transformers'
Gemma3ForConditionalGeneration: a tiny random checkpoint loads through load_pretrained,
and a prompt holding one image gives the same logits -- in one forward, and as a prefill
followed by decode steps through the cache."""

import pytest

from .reference import TOLERANCE, save_reference

torch = pytest.importorskip("torch")

IMAGE_TOKEN = 70
TOKENS_PER_IMAGE = 9  # a 6 x 6 patch grid pooled 2 x 2 to 3 x 3
TINY = dict(
    model_type="gemma3", mm_tokens_per_image=TOKENS_PER_IMAGE, image_token_index=IMAGE_TOKEN,
    boi_token_index=68, eoi_token_index=69,
    text_config=dict(model_type="gemma3_text", vocab_size=71, hidden_size=48, intermediate_size=40,
                     num_hidden_layers=6, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                     sliding_window=5,  # shorter than the image: its tokens reach past the window
                     query_pre_attn_scalar=12, layer_types=["sliding_attention"] * 5 + ["full_attention"],
                     rope_parameters={"full_attention": dict(rope_type="linear", factor=8.0, rope_theta=1e6),
                                      "sliding_attention": dict(rope_type="default", rope_theta=1e4)}),
    vision_config=dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=44, num_hidden_layers=2,
                       num_attention_heads=4, image_size=24, patch_size=4, vision_use_head=False),
)
PROMPT_BEFORE, PROMPT_AFTER = [2, 68], [69, 11, 12, 13]  # <bos> <boi> image <eoi> text
DECODED = [21, 22, 23]


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    from app.weights import load_pretrained

    directory = tmp_path_factory.mktemp("gemma3-vision")
    reference = save_reference(TINY, directory)
    ours = load_pretrained(directory).model
    prompt = PROMPT_BEFORE + [IMAGE_TOKEN] * TOKENS_PER_IMAGE + PROMPT_AFTER
    input_ids = torch.tensor([prompt + DECODED, prompt + DECODED[::-1]])
    pixels = torch.randn(2, 3, 24, 24, generator=torch.Generator().manual_seed(3))
    return reference, ours, input_ids, pixels, len(prompt), directory


def reference_logits(reference, input_ids, pixels):
    with torch.no_grad():
        return reference(input_ids=input_ids, pixel_values=pixels, token_type_ids=(input_ids == IMAGE_TOKEN).long(),
                         use_cache=False).logits


def test_the_checkpoint_reads_as_a_vision_spec(pair):
    ours = pair[1]
    assert ours.spec.model_type == "gemma3" and ours.spec.vision.tokens_per_image == TOKENS_PER_IMAGE
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in pair[0].parameters())


def test_one_forward_with_an_image_matches(pair):
    reference, ours, input_ids, pixels, *_ = pair
    with torch.no_grad():
        logits = ours(input_ids, pixel_values=pixels)
    torch.testing.assert_close(logits, reference_logits(reference, input_ids, pixels), atol=TOLERANCE, rtol=0)


def test_image_tokens_attend_both_ways(pair):
    """Gemma 3's image tokens see each other's future: a causal mask gives other logits."""
    reference, ours, input_ids, pixels, *_ = pair
    with torch.no_grad():
        causal = reference(input_ids=input_ids, pixel_values=pixels, use_cache=False).logits
        logits = ours(input_ids, pixel_values=pixels)
    assert (logits - causal).abs().max() > 10 * TOLERANCE


def test_prefill_with_an_image_then_decode_matches(pair):
    reference, ours, input_ids, pixels, prompt_len, _ = pair
    cache = ours.new_cache(batch=2, max_len=input_ids.shape[1])
    with torch.no_grad():
        steps = [ours(input_ids[:, :prompt_len], cache=cache, pixel_values=pixels)]
        steps += [ours(input_ids[:, i:i + 1], cache=cache) for i in range(prompt_len, input_ids.shape[1])]
    torch.testing.assert_close(torch.cat(steps, dim=1), reference_logits(reference, input_ids, pixels),
                               atol=TOLERANCE, rtol=0)


def test_image_tokens_without_an_image_are_refused(pair):
    ours, input_ids = pair[1], pair[2]
    with pytest.raises(ValueError, match="image tokens but no image"):
        ours(input_ids)


def test_the_published_encoder_layout_loads_too(pair, tmp_path):
    """google/gemma-3-* checkpoints nest the encoder under vision_tower.vision_model."""
    import shutil

    from safetensors.torch import load_file, save_file

    from app.weights import load_pretrained

    _, ours, input_ids, pixels, _, source = pair
    tensors = load_file(source / "model.safetensors")
    renamed = {name.replace("vision_tower.", "vision_tower.vision_model.", 1): tensor
               for name, tensor in tensors.items()}
    save_file(renamed, tmp_path / "model.safetensors", metadata={"format": "pt"})
    shutil.copy(source / "config.json", tmp_path / "config.json")
    published = load_pretrained(tmp_path).model
    with torch.no_grad():
        torch.testing.assert_close(published(input_ids, pixel_values=pixels), ours(input_ids, pixel_values=pixels))
