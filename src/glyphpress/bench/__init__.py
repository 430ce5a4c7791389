"""Benchmarks for the visual route against plain text: the field's tasks and their exact metrics.

So far: ``metrics`` (per-sample scores as LongBench, RULER and MRCR compute them)."""
