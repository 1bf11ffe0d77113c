"""What the user hands in, read into values: data files (CSV, NPZ), the bundled digits table
and parameter files. Below the engine, which rebuilds a run's data from its config alone."""
