"""Layer 4, the command line: each sub-command parses its arguments, calls the library and
prints. No math and no library behaviour lives here."""
