"""Pure identity rules: no I/O, no framework."""
