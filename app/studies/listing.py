"""Every study's listing: its name, title, section of the article and one-line summary.
Plain words only: the window builds its Studies menu from these without loading torch;
registry.py holds the studies themselves."""

from __future__ import annotations

from .study import Listing

LISTINGS: dict[str, Listing] = {listing.name: listing for listing in (
    Listing("mla-vs-gqa", "MLA against GQA and MHA: the KV cache per token, and what it costs to read", "§1.1",
            "DeepSeek V3's latent attention against GQA and MHA of the same heads: cache bytes and decode time "
            "per layer from 1k to 128k tokens"),
    Listing("sliding-window-latency", "Sliding windows: smaller caches, and faster decoding?", "§4",
            "Gemma 3 27B's local layer with and without its window, and Mistral Small 3.1's: cache and decode "
            "time per layer against context"),
    Listing("linear-attention-hybrids", "Linear-attention hybrids against full attention: cache and decode time",
            "§12, §14",
            "One period of Qwen3-Next's and Kimi Linear's layer patterns against the same layers all full "
            "attention: cache and state bytes and decode time from 4k to 128k tokens"),
    Listing("sparse-attention", "DeepSeek sparse attention: what the indexer costs, and where it pays", "§16",
            "DeepSeek V3.2's attention layer with and without its lightning indexer: decode time per layer "
            "from 1k to 128k tokens, and where the top-k selection starts to pay"),
    Listing("width-vs-depth", "Width against depth: wide-and-shallow gpt-oss against narrow-and-deep Qwen3",
            "§9.1",
            "gpt-oss-20b (24 layers, width 2880) against Qwen3-30B-A3B (48 layers, width 2048), and Qwen3-8B "
            "against its same-size wide twin: whole-model decode throughput by batch, from published-width slices"),
    Listing("per-layer-embeddings", "Per-layer embeddings: what keeping Gemma 3n's table off the accelerator saves",
            "§3.4",
            "Gemma 3n E2B and E4B built whole, with the per-layer embedding table on the accelerator and in host "
            "memory: parameters and bytes the accelerator holds, and the decode step"),
    Listing("attention-budget", "Local:global attention patterns: the cache and decode time each buys",
            "§3, §4, §8",
            "Gemma 3 27B's attention stacked 12 deep at 5:1, 3:1, 1:1 local:global, all global, and NoPE every "
            "4th: cache and decode time against context"),
    Listing("few-large-vs-many-small-experts", "Few large experts or many small ones: cost per token by batch",
            "§5, §9.2",
            "gpt-oss-20b's MoE layer (32 experts, top 4) against Qwen3-30B-A3B's (128, top 8), and DeepSeek V3's "
            "against Llama 4 Maverick's where they fit: time per token and experts reached by batch size"),
)}
