"""Layer 3, the outputs: run folders, checkpoints, figures, reports and sweep folders, made
from the engine's values (and read back from disk)."""
