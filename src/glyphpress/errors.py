"""The one exception family for errors a user can cause (bad input, bad θ, missing files)."""


class GlyphpressError(Exception):
    """A user-caused error. Its message is one line that says what is wrong and what to do."""


class ConfigError(GlyphpressError):
    """A rendering configuration (θ) key has an invalid value."""


class InputError(GlyphpressError):
    """An input file or text cannot be read or rendered."""
