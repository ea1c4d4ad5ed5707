"""Running models: the session, generation with the per-layer probe, sweeps, slices, calibration
and the profile snapshot (see docs/DESIGN.md)."""
