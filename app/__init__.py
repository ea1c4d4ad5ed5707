"""ArchScope: explore and profile decoder-only LLM architectures."""

__version__ = "0.1.0"
