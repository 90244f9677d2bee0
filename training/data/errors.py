"""The one exception type for data a user pointed us at that cannot be used."""


class DataError(ValueError):
    """Bad or unusable training data; the message is one sentence a person can act on."""
