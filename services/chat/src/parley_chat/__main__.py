"""``python -m parley_chat``."""

from .main import main

main()
