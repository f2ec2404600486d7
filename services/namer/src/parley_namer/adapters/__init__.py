"""Adapters of the namer service: implementations that use third-party libraries."""
