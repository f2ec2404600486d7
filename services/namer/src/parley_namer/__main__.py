"""``python -m parley_namer``."""

from .main import main

main()
