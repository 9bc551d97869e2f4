"""``python -m commitopt``."""

from commitopt.cli import main

main()
