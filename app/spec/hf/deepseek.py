"""DeepSeek-style MoE configs: DeepSeek V3 / V3.2, GLM-4.5, MiMo-V2-Flash (filled in below)."""

CONVERTERS: dict = {}
