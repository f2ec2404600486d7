"""Use cases of the namer."""
