"""What every command line of the package shares: a quiet TensorFlow start-up
and errors that fit on one line."""

import argparse
import contextlib
import logging
import os
import signal
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow loads


# The signals `interrupt_on_signals` received since it was called. Its
# handler raises KeyboardInterrupt at once, but Python ignores an exception
# raised while a finalizer runs (a __del__ or a weakref callback, which
# TensorFlow's objects have many of): `callbacks.InterruptOnSignal` raises
# it again at the next batch end, so a training never outlives its signal.
SIGNALLED = []


def interrupt_on_signals():
  """Ctrl-C (SIGINT), SIGTERM (a scheduler's preemption, `kill`) and SIGHUP
  (a closed terminal, a dropped SSH session) all raise KeyboardInterrupt,
  so training saves a checkpoint and stops. Also when the process was
  started in the background, where SIGINT is ignored; a SIGHUP that is
  ignored already (`nohup`) stays ignored. After a hangup the terminal is
  gone: what was written to it goes to /dev/null instead, so that nothing
  fails on the way to the checkpoint. Each signal is also recorded in
  `SIGNALLED` (emptied here)."""
  SIGNALLED.clear()

  def interrupt(signum, frame):
    del frame
    SIGNALLED.append(signum)
    if signum == signal.SIGHUP:
      detach_from_terminal()
    raise KeyboardInterrupt
  for signum in (signal.SIGINT, signal.SIGTERM):
    signal.signal(signum, interrupt)
  if signal.getsignal(signal.SIGHUP) is not signal.SIG_IGN:
    signal.signal(signal.SIGHUP, interrupt)


def detach_from_terminal():
  """Point stdout and stderr, where they are a terminal, at /dev/null."""
  with open(os.devnull, "w") as devnull:
    for fd in (1, 2):
      if os.isatty(fd):
        os.dup2(devnull.fileno(), fd)


TENSORFLOW_GLOB = "*?["


def refuse_glob_characters(flag: str, path) -> None:
  """A one-line ValueError if TensorFlow would read `path` (a run directory,
  a checkpoint or SavedModel folder) as a glob pattern."""
  if any(char in str(path) for char in TENSORFLOW_GLOB):
    raise ValueError(f"{flag} {path}: TensorFlow reads checkpoint and model paths as "
                     "glob patterns, so they cannot contain *, ? or [")


class OneLineErrorParser(argparse.ArgumentParser):
  """argparse that reports a bad argument in one line, without the usage wall."""

  def error(self, message):
    self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


@contextlib.contextmanager
def quiet_native_stderr():
  """Silence what native code prints to stderr while TensorFlow is imported.

  TensorFlow's C++ start-up logs CUDA probing lines on machines without a GPU
  before its log-level setting applies. Python exceptions still surface:
  stderr is restored before they propagate. LBT_TF_VERBOSE=1 keeps it all,
  TensorFlow's Python warnings included.
  """
  if os.environ.get("LBT_TF_VERBOSE"):
    yield
    return
  sys.stderr.flush()
  saved = os.dup(2)
  with open(os.devnull, "w") as devnull:
    os.dup2(devnull.fileno(), 2)
  try:
    yield
  finally:
    os.dup2(saved, 2)
    os.close(saved)
  # TensorFlow's Python warnings (retracing notes, checkpoint objects left
  # unmatched on purpose) are noise on a command line; errors still show.
  logging.getLogger("tensorflow").setLevel(logging.ERROR)


def fail(prog: str, message) -> None:
  try:
    print(f"{prog}: error: {message}", file=sys.stderr, flush=True)
  except OSError:  # no terminal left to say it on (a hangup)
    pass
  sys.exit(1)


DEBUG_VARIABLE = "LBT_TF_DEBUG"


def debugging() -> bool:
  """LBT_TF_DEBUG=1: full tracebacks instead of one-line errors."""
  return os.environ.get(DEBUG_VARIABLE, "") not in ("", "0")


@contextlib.contextmanager
def errors_in_one_line(prog: str):
  """Any error inside becomes one line on stderr and exit status 1.

  Errors we raise on purpose (ValueError, OSError...) already say what is
  wrong and how to fix it; anything else is named by its type, with a hint
  that LBT_TF_DEBUG=1 shows the full traceback (which it does for all).
  """
  from lbt_tf.errors import describe  # pylint: disable=g-import-not-at-top
  try:
    yield
  except KeyboardInterrupt:
    if debugging():
      raise
    fail(prog, "interrupted")
  except Exception as e:  # pylint: disable=broad-except
    if debugging():
      raise
    fail(prog, describe(e))
