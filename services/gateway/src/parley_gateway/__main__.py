"""``python -m parley_gateway``."""

from .main import main

main()
