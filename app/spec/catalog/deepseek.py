"""DeepSeek-lineage entries: DeepSeek V3/R1/V3.2, Kimi K2, Mistral 3 Large, GLM-4.5, MiMo-V2-Flash."""

ENTRIES: list = []
