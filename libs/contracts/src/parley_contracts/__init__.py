"""Parley package."""
