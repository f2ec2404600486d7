"""The gateway's application services: each use case in one function over a unit of work."""
