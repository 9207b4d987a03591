"""Batch runs: many headless tasks, each in its own workspace, on a local pool or a Ray cluster."""
