"""The gateway's HTTP edge: routes, request and response shapes, auth and problem responses."""
