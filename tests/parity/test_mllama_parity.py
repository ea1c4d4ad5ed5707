"""Llama 3.2 Vision (method B, cross-attention) against transformers'
MllamaForConditionalGeneration: a tiny random checkpoint loads through load_pretrained,
and a prompt with one image per row (a one-tile and a two-tile image, the encoder's
padding tile masked) gives the same logits -- in one forward, and as a prefill followed
by decode steps that read the image's keys and values from the cache."""

import pytest

from app.spec.analysis import analyze

from .reference import TOLERANCE, save_reference

torch = pytest.importorskip("torch")

VOCAB = 97
IMAGE_TOKEN = VOCAB  # mllama's image token is the first embedding row past the vocabulary
TILES = 2
TINY = dict(
    model_type="mllama", image_token_index=IMAGE_TOKEN,
    text_config=dict(model_type="mllama_text_model", vocab_size=VOCAB, hidden_size=48, num_hidden_layers=4,
                     num_attention_heads=6, num_key_value_heads=2, intermediate_size=56, cross_attention_layers=[1, 3],
                     rope_parameters=dict(rope_type="llama3", rope_theta=10000.0, factor=8.0, low_freq_factor=1.0,
                                          high_freq_factor=4.0, original_max_position_embeddings=8),
                     pad_token_id=None, bos_token_id=1, eos_token_id=2),
    vision_config=dict(model_type="mllama_vision_model", hidden_size=32, num_hidden_layers=3, num_global_layers=2,
                       attention_heads=4, intermediate_size=40, vision_output_dim=96, image_size=12, patch_size=4,
                       max_num_tiles=TILES, intermediate_layers_indices=[0, 2],
                       supported_aspect_ratios=[[1, 1], [1, 2], [2, 1]]),
)
PROMPT = [1, 5, IMAGE_TOKEN, 11, 12, 13]  # a token before the image sees none of it
DECODED = [21, 22, 23]
LAYOUTS = [1, 2]  # row 0: one tile (the second is padding); row 1: two tiles side by side


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    from app.weights import load_pretrained

    directory = tmp_path_factory.mktemp("mllama")
    reference = save_reference(TINY, directory)
    ours = load_pretrained(directory).model
    input_ids = torch.tensor([PROMPT + DECODED, PROMPT + DECODED[::-1]])
    pixels = torch.randn(2, TILES, 3, 12, 12, generator=torch.Generator().manual_seed(3))
    return reference, ours, input_ids, pixels


def reference_logits(reference, input_ids, pixels):
    tiles = torch.tensor([[1, 0], [1, 1]])  # valid tiles of each row's layout
    sees = (torch.arange(input_ids.shape[1]) >= PROMPT.index(IMAGE_TOKEN)).long()
    cross_mask = sees[None, :, None, None] * tiles[:, None, None, :]  # [B, T, images, tiles]
    with torch.no_grad():
        return reference(input_ids=input_ids, pixel_values=pixels[:, None], aspect_ratio_ids=torch.tensor(LAYOUTS)[:, None],
                         aspect_ratio_mask=tiles[:, None], cross_attention_mask=cross_mask, use_cache=False).logits


def test_the_checkpoint_reads_as_a_cross_attention_spec(pair):
    reference, ours = pair[:2]
    spec = ours.spec
    assert spec.model_type == "mllama" and spec.vision.method == "cross_attention"
    assert [layer.mixer.kind for layer in spec.layers] == ["attention", "cross_attention"] * 2
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in reference.parameters())


def test_one_forward_with_an_image_matches(pair):
    reference, ours, input_ids, pixels = pair
    with torch.no_grad():
        logits = ours(input_ids, pixel_values=pixels, aspect_ratio_ids=torch.tensor(LAYOUTS))
    torch.testing.assert_close(logits, reference_logits(reference, input_ids, pixels), atol=TOLERANCE, rtol=0)


def test_prefill_with_an_image_then_decode_matches(pair):
    reference, ours, input_ids, pixels = pair
    cache = ours.new_cache(batch=2, max_len=input_ids.shape[1])
    with torch.no_grad():
        steps = [ours(input_ids[:, :len(PROMPT)], cache=cache, pixel_values=pixels,
                      aspect_ratio_ids=torch.tensor(LAYOUTS))]
        steps += [ours(input_ids[:, i:i + 1], cache=cache) for i in range(len(PROMPT), input_ids.shape[1])]
    torch.testing.assert_close(torch.cat(steps, dim=1), reference_logits(reference, input_ids, pixels),
                               atol=TOLERANCE, rtol=0)
    # the image's keys and values sit in the two cross-attention layers, as the analysis counts them
    features = ours.spec.vision.encoder.features_per_image  # 2 tiles x (9 patches + a class token)
    per_row = features * 2 * 2 * 8 * 4  # (k + v) x 2 kv heads x head_dim 8, float32
    predicted = analyze(ours.spec).image_kv_bytes_at(input_ids.shape[1], range(0), dtype_bytes=4)
    assert predicted == [0, per_row, 0, per_row]  # per image; the batch holds two
    assert [cache.layers[i].nbytes() for i in (1, 3)] == [2 * per_row] * 2


def test_without_an_image_the_cross_attention_layers_pass_through(pair):
    reference, ours, input_ids, _ = pair
    text = input_ids.clone()
    text[text == IMAGE_TOKEN] = 7
    with torch.no_grad():
        expected = reference(input_ids=text, use_cache=False).logits
        torch.testing.assert_close(ours(text), expected, atol=TOLERANCE, rtol=0)
