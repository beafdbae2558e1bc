"""The one error type the toolkit raises for bad input; the CLI turns it into exit code 2."""

from __future__ import annotations

import re
from collections.abc import Mapping

__all__ = ["SegmentationError"]

# A parameter named in a message: `k`, `k_range`, `log_transform` ...
_PARAMETER = re.compile(r"`([a-z][a-z_]*)`")


class SegmentationError(Exception):
    """A problem with the user's input or options, explained in one sentence.

    The message is shown to the user as it is, so it says what was wrong and, where it can,
    what to do about it (for example the columns that do exist). Options are named by their
    Python parameter between backquotes (`k`, `features`, `log_transform`); an interface that
    spells them otherwise (the command line's ``--k``) renames them with :meth:`spelled`.
    """

    def spelled(self, names: Mapping[str, str]) -> str:
        """The message with each `parameter` written as ``names`` spells it.

        Parameters
        ----------
        names : mapping of str to str
            Parameter name -> how the interface spells it (``"k_range" -> "--k-range"``).
            A parameter not in the mapping keeps its backquotes.

        Returns
        -------
        str
        """
        return _PARAMETER.sub(lambda match: names.get(match[1], match[0]), str(self))
