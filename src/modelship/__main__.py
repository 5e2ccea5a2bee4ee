"""`python -m modelship ...`: the same as the `modelship` command."""

from modelship.cli import main

main()
