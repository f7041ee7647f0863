"""Errors a user may see: each says what is wrong and where."""


class FalconerError(Exception):
    """Base of every error Falconer raises on purpose."""


class InputError(FalconerError, ValueError):
    """Input a user supplied (a file, a row, an argument) cannot be used as given."""
