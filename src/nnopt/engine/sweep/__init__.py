"""Sweeps: many configurations trained together (grids, batches, shards, Ray)."""
