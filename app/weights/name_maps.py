"""Where each of our parameters lives in a Hugging Face checkpoint: every naming lineage's
map, by model_type. Each lineage keeps its names in a module of its own (names_*.py);
`names_llama` holds the form of a map and the Llama scheme that others build on.
"""

from __future__ import annotations

from .names_deepseek import NAME_MAPS as DEEPSEEK_LINEAGE
from .names_deepseek_v4 import NAME_MAPS as DEEPSEEK_V4_NAMES
from .names_gemma3n import NAME_MAPS as GEMMA3N_LINEAGE
from .names_gemma4 import NAME_MAPS as GEMMA4_LINEAGE
from .names_gpt2 import NAME_MAPS as GPT2_LINEAGE
from .names_kimi_linear import NAME_MAPS as KIMI_LINEAR_LINEAGE
from .names_lfm2 import NAME_MAPS as LFM2_LINEAGE
from .names_llama import NAME_MAPS as LLAMA_LINEAGE
from .names_llama import NameMap, Transform
from .names_longcat import NAME_MAPS as LONGCAT_LINEAGE
from .names_minimax import NAME_MAPS as MINIMAX_LINEAGE
from .names_moe import NAME_MAPS as MOE_LINEAGES
from .names_nemotron_h import NAME_MAPS as NEMOTRON_H_LINEAGE
from .names_qwen3_5 import NAME_MAPS as QWEN3_5_LINEAGE
from .names_qwen3_next import NAME_MAPS as QWEN3_NEXT_LINEAGE
from .names_vision import NAME_MAPS as VISION_LINEAGES
from .names_xlstm import NAME_MAPS as XLSTM_LINEAGE
from .names_zaya import NAME_MAPS as ZAYA_LINEAGE

__all__ = ["NAME_MAPS", "NameMap", "Transform"]

NAME_MAPS = {**GPT2_LINEAGE, **LLAMA_LINEAGE, **DEEPSEEK_LINEAGE, **MOE_LINEAGES, **NEMOTRON_H_LINEAGE,
             **MINIMAX_LINEAGE, **KIMI_LINEAR_LINEAGE, **QWEN3_NEXT_LINEAGE, **QWEN3_5_LINEAGE, **LFM2_LINEAGE,
             **GEMMA3N_LINEAGE, **GEMMA4_LINEAGE, **VISION_LINEAGES, **XLSTM_LINEAGE, **LONGCAT_LINEAGE,
             **ZAYA_LINEAGE}
NAME_MAPS |= DEEPSEEK_V4_NAMES
