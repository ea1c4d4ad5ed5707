"""Running models: generation loop (profiler and session arrive with [5/10])."""
