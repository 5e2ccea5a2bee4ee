"""`python -m featureship ...`: the same as the `featureship` command."""

from featureship.cli import main

main()
