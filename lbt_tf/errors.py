"""One-line summaries of exceptions, for the one-line errors users see."""


def first_line(error: BaseException, limit: int = None) -> str:
  """The first line of `error`'s message (its type's name if it has none)."""
  lines = str(error).strip().splitlines()
  line = lines[0] if lines else type(error).__name__
  return line[:limit] if limit else line
