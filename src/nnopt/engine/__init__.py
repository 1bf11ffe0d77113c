"""Layer 2, the engine: compiled training loops over the core, evaluation, sweeps and the
lecture's experiments. It returns values (arrays, dataclasses) and never prints or writes."""
