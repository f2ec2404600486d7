"""``python -m parley_namer.evaluation FILE``: name every conversation of a file and measure the
names (the command behind ``parley names eval``)."""
