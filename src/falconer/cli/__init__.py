"""The `falconer` command line."""
