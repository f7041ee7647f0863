"""`python -m falconer`: the same as the `falconer` command."""

from falconer.cli.app import main

main()
