"""``python -m parley_tagger``."""

from .main import main

main()
