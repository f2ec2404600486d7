"""Naming rules of the namer service: pure functions, standard library only."""
