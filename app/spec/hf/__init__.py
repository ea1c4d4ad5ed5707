"""Hugging Face config.json <-> ArchSpec, for every model_type of the catalog's families.

Each converter module lists the model types it reads and writes in `CONVERTERS`. A config the
converter cannot read, or a spec the format cannot express (an edited spec whose
layers differ where the format allows one value), raises SpecError naming the key.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Callable

from ..arch import ArchSpec
from ..errors import Problem, SpecError
from ..limits import MAX_NESTING, nested_too_deeply
from .reader import ConfigReader

# model_type -> (read a config into a spec, write a spec as a config)
ToSpec = Callable[[ConfigReader, str], ArchSpec]
ToConfig = Callable[[ArchSpec], dict]
_CONVERTERS: dict[str, tuple[ToSpec, ToConfig]] = {}


def supported_model_types() -> list[str]:
    _load_converters()
    return sorted(_CONVERTERS)


def spec_from_hf_config(config: Any, name: str | None = None) -> ArchSpec:
    """Read a config.json dict; multimodal wrappers are read through their text_config."""
    _load_converters()
    if not isinstance(config, dict):
        raise SpecError([Problem("", f"expected a config object, found {type(config).__name__}")])
    if nested_too_deeply(config):
        raise SpecError([Problem("", f"nested more than {MAX_NESTING} levels deep; a config is a few levels deep")])
    model_type = config.get("model_type")
    if (not isinstance(model_type, str) or model_type not in _CONVERTERS) and isinstance(
            config.get("text_config"), dict):
        config = config["text_config"]
        model_type = config.get("model_type")
    if not isinstance(model_type, str):
        raise SpecError([Problem("model_type", "missing; expected one of " + ", ".join(supported_model_types()))])
    if model_type not in _CONVERTERS:
        raise SpecError([Problem("model_type", f"unsupported {model_type!r}; expected one of "
                                 + ", ".join(supported_model_types()))])
    to_spec, _ = _CONVERTERS[model_type]
    reader = ConfigReader(config)
    spec = to_spec(reader, model_type)
    reader.finish()
    if name:
        spec = replace(spec, name=name)
    problems = spec.validate()
    if problems:
        raise SpecError(problems)
    return spec


def hf_config_from_spec(spec: ArchSpec) -> dict:
    """The config.json a transformers model of spec.model_type would be built from."""
    _load_converters()
    if spec.model_type not in _CONVERTERS:
        raise SpecError([Problem("model_type", f"{spec.model_type!r} has no Hugging Face form; expected one of "
                                 + ", ".join(supported_model_types()))])
    _, to_config = _CONVERTERS[spec.model_type]
    return to_config(spec)


def _load_converters() -> None:
    if not _CONVERTERS:
        from . import (afmoe, cohere2, deepseek, dense, gemma3n, gemma4, glm4_moe, glm_moe_dsa, gpt_oss, granite, kimi_linear,
                       laguna, lfm2, llama4, longcat_flash, mellum, mimo, minimax, minimax_m2, nemotron_h, qwen3_5, qwen3_moe, qwen3_next,
                       step3p5, vision, xlstm)

        for module in (afmoe, dense, qwen3_moe, gpt_oss, llama4, minimax_m2, deepseek, glm4_moe, glm_moe_dsa, mimo,
                       qwen3_next, qwen3_5, kimi_linear, nemotron_h, lfm2, minimax, gemma3n, gemma4, cohere2, laguna,
                       granite, longcat_flash, mellum, step3p5, vision, xlstm):
            _CONVERTERS.update(module.CONVERTERS)
        from . import zaya
        _CONVERTERS.update(zaya.CONVERTERS)
        from . import mistral4
        _CONVERTERS.update(mistral4.CONVERTERS)
        from . import deepseek_v4
        _CONVERTERS.update(deepseek_v4.CONVERTERS)
        from . import cohere2_moe
        _CONVERTERS.update(cohere2_moe.CONVERTERS)
        from . import bailing
        _CONVERTERS.update(bailing.CONVERTERS)
        from . import hy_v3
        _CONVERTERS.update(hy_v3.CONVERTERS)
