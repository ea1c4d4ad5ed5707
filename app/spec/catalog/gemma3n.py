"""Gemma 3n E2B and E4B (text model), at the numbers of their published config.json."""

from __future__ import annotations

from .entry import Entry

# Besides the text decoder, the releases hold an audio encoder (681.3M parameters) and the
# two projections of audio and image features into the text width (7.8M together), both
# counted from transformers' Gemma3nAudioEncoder and Gemma3nMultimodalEmbedder at the
# published sizes, and the MobileNet-V5-300M image encoder (Google's Gemma 3n developer
# guide). The headline counts all three.
GEMMA3N_ENCODER_PARAMS = 681.3e6 + 7.8e6 + 300e6
_ENCODERS_NOTE = ("The release is multimodal: this entry is its text decoder. The headline (the safetensors "
                  "count on the model page) also holds the audio encoder (681M), the MobileNet-V5-300M image "
                  "encoder and their 8M of projections into the text width, added back for the 3% check.")
_DESIGN_NOTE = ("Four sliding-window layers (window 512, theta 10k) then one global (theta 1M); sandwich norms "
                "with plain RMSNorm scales, QK-norm and a value norm per head, unit query scaling; four AltUp "
                "streams, LAuReL (rank 64) beside every attention, and per-layer embeddings of 256 values per "
                "layer and token.")
_PLE_NOTE = ("The per-layer embedding table is most of the parameter count but is only looked up, one row per "
             "token, so it can stay in host memory: the 'E' sizes count what remains on the accelerator.")


def _text_config(layers: int, ffn: int, shared: int) -> dict:
    return {
        "model_type": "gemma3n_text", "vocab_size": 262_400, "vocab_size_per_layer_input": 262_144,
        "hidden_size": 2048, "hidden_size_per_layer_input": 256, "intermediate_size": [ffn] * layers,
        "num_hidden_layers": layers, "num_attention_heads": 8, "num_key_value_heads": 2, "head_dim": 256,
        "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 32_768, "rms_norm_eps": 1e-6,
        "sliding_window": 512, "layer_types": ["full_attention" if (i + 1) % 5 == 0 else "sliding_attention"
                                               for i in range(layers)],
        "rope_theta": 1_000_000.0, "rope_local_base_freq": 10_000.0, "rope_scaling": None,
        "final_logit_softcapping": 30.0, "attention_bias": False, "tie_word_embeddings": True,
        "num_kv_shared_layers": shared, "laurel_rank": 64, "altup_num_inputs": 4, "altup_active_idx": 0,
        "altup_coef_clip": 120.0, "altup_correct_scale": True,
        "activation_sparsity_pattern": [0.95] * 10 + [0.0] * (layers - 10),
    }


ENTRIES = [
    Entry(
        slug="gemma3n-e2b", title="Gemma 3n E2B", family="Gemma 3n",
        source="https://huggingface.co/google/gemma-3n-E2B-it/blob/main/config.json (text_config)",
        config=_text_config(30, 8192, 10),
        published_total=5.44e9, headline_extra_params=GEMMA3N_ENCODER_PARAMS,
        notes=(_DESIGN_NOTE, "The last 10 of its 30 layers reuse the keys and values of the last sliding and the "
               "last global layer before them, and keep no cache of their own; the first 10 cut 95% of their "
               "FFN gate (Gaussian top-k).", _PLE_NOTE,
               "MatFormer: E2B is the model nested in E4B -- E4B's FFNs at half width (8192) with 5 of its "
               "layers skipped -- published as a checkpoint of its own.", _ENCODERS_NOTE),
    ),
    Entry(
        slug="gemma3n-e4b", title="Gemma 3n E4B", family="Gemma 3n",
        source="https://huggingface.co/google/gemma-3n-E4B-it/blob/main/config.json (text_config)",
        config=_text_config(35, 16_384, 15),
        published_total=7.85e9, headline_extra_params=GEMMA3N_ENCODER_PARAMS,
        notes=(_DESIGN_NOTE, "The last 15 of its 35 layers reuse the keys and values of the last sliding and the "
               "last global layer before them, and keep no cache of their own; the first 10 cut 95% of their "
               "FFN gate (Gaussian top-k).", _PLE_NOTE,
               "MatFormer: its FFNs are trained so that their first neurons form smaller models; the FFN width "
               "fraction (matformer) slides between them, E2B's 8192 at one half.", _ENCODERS_NOTE),
    ),
]
