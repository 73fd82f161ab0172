"""One training process per run directory.

`RunLock(workdir)` holds an advisory lock (`flock`) on `workdir/.lock` for
the life of the process: a second process on the same run directory fails
in one line naming the holder, instead of both writing the same
checkpoints, metrics and exports. The kernel releases the lock on any exit,
kill -9 included; the file then still names the process that crashed, so the
next run says it takes over.
"""

import datetime
import fcntl
import os
import pathlib
import socket

from lbt_tf.errors import cannot_write

LOCK_FILE = ".lock"


class RunLocked(ValueError):
  """Another process is training this run."""


class RunLock:
  """Use as `with RunLock(workdir, report): ...` (creates workdir)."""

  def __init__(self, workdir, report=print):
    self.path = pathlib.Path(workdir) / LOCK_FILE
    self.report = report
    self._fd = None

  def __enter__(self):
    try:
      self.path.parent.mkdir(parents=True, exist_ok=True)
      fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as e:  # a read-only or full file system, no permission
      raise cannot_write(self.path, e) from None
    try:
      fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      holder = _read(fd) or "another process"
      os.close(fd)
      raise RunLocked(f"{self.path.parent} is being trained by {holder}; wait "
                      "for it to finish or stop it, or choose another --workdir") from None
    previous = _read(fd)
    if previous:  # the lock is ours, so whoever wrote this has exited
      self.report(f"taking over {self.path.parent} from {previous}, which "
                  "ended without releasing it")
    self._fd = fd
    started = datetime.datetime.now().isoformat(timespec="seconds")
    try:
      os.ftruncate(fd, 0)
      os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {started}".encode(), 0)
      os.fsync(fd)
    except OSError as e:
      self.__exit__()
      raise cannot_write(self.path, e) from None
    return self

  def __exit__(self, *exc):
    if self._fd is not None:
      try:
        os.ftruncate(self._fd, 0)  # a clean exit leaves nothing to take over
      except OSError:
        pass  # the lock is released all the same
      fcntl.flock(self._fd, fcntl.LOCK_UN)
      os.close(self._fd)
      self._fd = None
    return False


def _read(fd) -> str:
  return os.pread(fd, 4096, 0).decode(errors="replace").strip()
