"""One-line summaries of exceptions, for the one-line errors users see."""

import re

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def first_line(error: BaseException, limit: int = None) -> str:
  """The first informative line of `error`'s message (its type's name if it
  has none); Keras's "Exception encountered when calling ..." preamble and
  terminal colour codes are skipped."""
  lines = [ANSI.sub("", l).strip() for l in str(error).splitlines()]
  lines = [l for l in lines if l and not l.startswith("Exception encountered when calling")]
  line = lines[0] if lines else type(error).__name__
  return line[:limit] if limit else line


def reason(error: BaseException) -> str:
  """Why an input/output operation failed, in a few words: an OSError's
  strerror ("No space left on device"), or the cause at the end of a
  TensorFlow error's first line, without its graph-node and op tags."""
  if isinstance(error, OSError) and error.strerror:
    return error.strerror
  line = re.sub(r"\{\{[^}]*\}\}\s*", "", first_line(error))
  line = re.sub(r"\s*\[Op:\w+\]", "", line).strip()
  return line.rsplit("; ", 1)[-1]


class UserError(Exception):
  """An error whose message tells the user what happened and what to do."""


# Errors that carry a message meant for the user as it is.
EXPECTED = (UserError, ValueError, OSError, KeyError, MemoryError)


def describe(error: BaseException) -> str:
  """One line for a user: our own messages as they are, TensorFlow's first
  line, and for anything unexpected its type and a way to see more."""
  if isinstance(error, MemoryError):
    return "out of memory; ask for fewer samples or a smaller batch"
  if isinstance(error, KeyError) and error.args:
    return f"missing {error.args[0]!r}"
  line = first_line(error, 400)
  if isinstance(error, EXPECTED) or type(error).__module__.startswith("tensorflow"):
    return line
  return f"{type(error).__name__}: {line} (LBT_TF_DEBUG=1 shows the traceback)"
