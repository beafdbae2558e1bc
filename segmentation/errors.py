"""The one error type the toolkit raises for bad input; the CLI turns it into exit code 2."""


class SegmentationError(Exception):
    """A problem with the user's input or options, explained in one sentence.

    The message is shown to the user as it is, so it says what was wrong and, where it can,
    what to do about it (for example the columns that do exist).
    """
