"""The neutral base of every layer's errors.

Two kinds, which the CLI maps to its exit codes:

- :class:`CommitoptInputError` (a :class:`ValueError`): bad input, a file, a value or a policy
  that commitopt cannot use as given. Exit code 2.
- :class:`CommitoptEnvironmentError`: the input may be fine but the environment stops the work
  (another process holds the workspace, AWS is unreachable or denies the call, a solver ran out
  of time). Exit code 3.

Every error carries one readable sentence naming the bad item (file, row, column, key) and the
remedy. A message refers to a parameter with :func:`param`, which writes its name in backticks
(```lookback_days```): that is how the library prints it, and the CLI replaces it with the flag
that sets it (``--lookback``), so that only the CLI formats flags.
"""

from __future__ import annotations

import re
from collections.abc import Callable

PARAMETER_REFERENCE = re.compile(r"`([A-Za-z_][A-Za-z0-9_]*)`")
"""How :func:`param` marks a parameter inside a message: its name in backticks."""


def param(name: str) -> str:
    """A reference to the parameter ``name`` inside an error message.

    Parameters
    ----------
    name
        The library's parameter name (``"lookback_days"``, ``"time_limit_seconds"``).

    Returns
    -------
    str
        ```name```: read as is from the library; :meth:`CommitoptError.render` lets the CLI
        replace it with the command-line flag that sets the parameter.
    """
    return f"`{name}`"


def render_parameters(text: str, name_of: Callable[[str], str | None]) -> str:
    """``text`` with every backticked name that ``name_of`` knows replaced by what it returns
    (names it does not know, ``None``, are left as written)."""

    def replace(match: re.Match[str]) -> str:
        named = name_of(match.group(1))
        return match.group(0) if named is None else named

    return PARAMETER_REFERENCE.sub(replace, text)


class CommitoptError(Exception):
    """The neutral base of commitopt's errors: one readable sentence with the remedy.

    The first argument is the message; it may name parameters with :func:`param`.
    """

    @property
    def template(self) -> str:
        """The message as the library writes it."""
        return str(self.args[0]) if self.args else ""

    @property
    def parameters(self) -> tuple[str, ...]:
        """The backticked names in the message, in order (parameters among them)."""
        return tuple(dict.fromkeys(PARAMETER_REFERENCE.findall(self.template)))

    def render(self, name_of: Callable[[str], str | None]) -> str:
        """The message with each parameter ``name_of`` knows replaced (the CLI: by its flag)."""
        return render_parameters(self.template, name_of)

    def __str__(self) -> str:
        return self.template


class CommitoptInputError(CommitoptError, ValueError):
    """Bad user input: a file, a flag or a value that commitopt cannot use as given."""


class CommitoptEnvironmentError(CommitoptError, RuntimeError):
    """The environment stops the work: a busy workspace, AWS unreachable or denied, a time limit.

    Not the input's fault: the same command may succeed later or elsewhere.
    """
