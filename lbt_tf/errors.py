"""One-line summaries of exceptions, for the one-line errors users see."""

import errno
import re

ANSI = re.compile(r"\x1b\[[0-9;]*m")


CAUSE_LIMIT = 300  # characters of a foreign error quoted as a cause


def first_line(error: BaseException, limit: int = CAUSE_LIMIT) -> str:
  """The first informative line of `error`'s message (its type's name if it
  has none), at most `limit` characters (None: all); Keras's "Exception
  encountered when calling ..." preamble, the "Graph execution error:" and
  "Detected at node ..." stack TensorFlow puts before the cause, and
  terminal colour codes are skipped."""
  raw = [ANSI.sub("", l) for l in str(error).splitlines()]
  if raw and raw[0].strip() == "Graph execution error:":
    # the cause is the first line at column 0 after the Python stack (which
    # a loaded SavedModel's functions replace by "<stack traces unavailable>")
    raw = [l for l in raw[1:] if l[:1].strip() and not l.startswith(
        ("Detected at node", "<stack traces unavailable>"))]
  lines = [l.strip() for l in raw]
  lines = [l for l in lines if l and not l.startswith("Exception encountered when calling")]
  line = lines[0] if lines else type(error).__name__
  return line[:limit] if limit else line


def reason(error: BaseException) -> str:
  """Why an input/output operation failed, in a few words: an OSError's
  strerror ("No space left on device"), or the cause at the end of a
  TensorFlow error's first line, without its graph-node and op tags."""
  if isinstance(error, OSError) and error.strerror:
    return error.strerror
  return untagged_first_line(error).rsplit("; ", 1)[-1]


def untagged_first_line(error: BaseException) -> str:
  """`first_line` without TensorFlow's {{node ...}} and [Op:...] tags."""
  line = re.sub(r"\{\{[^}]*\}\}\s*", "", first_line(error, None))
  return re.sub(r"\s*\[Op:\w+\]", "", line).strip()


WRITE_ADVICE = {
    errno.ENOSPC: "free some space and run the same command again",
    errno.EDQUOT: "free some space (over quota) and run the same command again",
    errno.EROFS: "it is on a read-only file system: choose a writable --workdir",
    errno.EACCES: "you may not write there: choose another --workdir",
    errno.EPERM: "you may not write there: choose another --workdir",
}


def cannot_write(path, error: OSError) -> OSError:
  """An OSError whose one line names the file that could not be written,
  why (`error`) and what to do (free space, another --workdir)."""
  advice = WRITE_ADVICE.get(getattr(error, "errno", None),
                            "check that it can be written, or choose another --workdir")
  failure = OSError(f"could not write {path} ({reason(error)}); {advice}")
  failure.errno = getattr(error, "errno", None)
  return failure


class UserError(Exception):
  """An error whose message tells the user what happened and what to do."""


# Errors that carry a message meant for the user as it is.
EXPECTED = (UserError, ValueError, OSError, KeyError, MemoryError)


OUT_OF_MEMORY = "ask for fewer samples or a smaller --batch-size"


def describe(error: BaseException) -> str:
  """One line for a user: our own messages whole (they end with what to do:
  a cause they quote is capped where it is quoted, never the advice),
  the first line of anyone else's capped at 400 characters, and for
  anything unexpected its type and a way to see more."""
  if isinstance(error, MemoryError) or getattr(error, "errno", None) == errno.ENOMEM:
    return f"out of memory; {OUT_OF_MEMORY}"
  if type(error).__name__ == "ResourceExhaustedError":  # TensorFlow's OOM
    cause = untagged_first_line(error).split(" on /job:")[0][:200]  # not which device
    return f"out of memory ({cause}); {OUT_OF_MEMORY}"
  if isinstance(error, KeyError) and error.args:
    return f"missing {error.args[0]!r}"
  line = first_line(error, None if raised_by_us(error) else 400)
  if isinstance(error, EXPECTED) or type(error).__module__.startswith("tensorflow"):
    return line
  return f"{type(error).__name__}: {line} (LBT_TF_DEBUG=1 shows the traceback)"


def raised_by_us(error: BaseException) -> bool:
  """Whether `error` was raised by this package's code (its message is ours)."""
  tb = error.__traceback__
  while tb is not None and tb.tb_next is not None:
    tb = tb.tb_next
  return tb is not None and tb.tb_frame.f_globals.get("__name__", "").startswith("lbt_tf")
