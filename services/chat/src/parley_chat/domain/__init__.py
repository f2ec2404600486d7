"""The chat service's domain: the upstream AI port and the ordering rule of turns."""
