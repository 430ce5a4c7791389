"""The one exception family for errors a user can cause (bad input, bad θ, missing files)."""


class GlyphpressError(Exception):
    """A user-caused error. Its message is one line that says what is wrong and what to do."""


class ConfigError(GlyphpressError):
    """A rendering configuration (θ) key has an invalid value."""


class InputError(GlyphpressError):
    """An input file or text cannot be read or rendered."""


class NothingToRender(InputError):
    """An input holds no text to render: empty, only whitespace, or binary. A folder's such files are skipped
    with a warning; an input named on its own is an error."""


class NoTextLayer(InputError):
    """A PDF has no text to read (a scan): read its pages by OCR, or as page images."""
