"""Files written whole or not at all: through a staging file of their own
in the target's directory, renamed over the target (atomic on POSIX), so a
kill or a full disk leaves the old file or the new one, never half of one,
and two writers never share a staging name. The file gets the permissions
`open` would give it (0666 less the umask), not the staging file's 0600."""

import os
import pathlib
import shutil
import tempfile


def _replace(target: pathlib.Path, write):
  """Call `write(staging_file_object)`, then rename the staging file over
  `target`; on any failure the staging file is removed and the error raised."""
  target = pathlib.Path(target)
  target.parent.mkdir(parents=True, exist_ok=True)
  handle, staging = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-")
  try:
    with open(handle, "wb") as f:
      write(f)
    os.chmod(staging, 0o666 & ~_umask())
    pathlib.Path(staging).replace(target)
  except BaseException:
    pathlib.Path(staging).unlink(missing_ok=True)
    raise


def _umask() -> int:
  """The process's umask, read without changing it where Linux tells it
  (os.umask only sets it, returning the old one: a moment when another
  thread's new file would get the wrong mode)."""
  try:
    with open("/proc/self/status") as f:
      return next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
  except (OSError, StopIteration, ValueError, IndexError):
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def write_text(target, text: str):
  """Write `text` (UTF-8) to `target` atomically.

  Raises:
    OSError: it could not be written (`target` is as it was).
  """
  _replace(target, lambda f: f.write(text.encode("utf-8")))


def copy(source, target):
  """Copy the file `source` to `target` atomically.

  Raises:
    OSError: it could not be read or written (`target` is as it was).
  """
  with open(source, "rb") as src:
    _replace(target, lambda f: shutil.copyfileobj(src, f))


def directory(target, fill):
  """Make the directory `target` whole or not at all: `fill(staging)`
  writes its files into a staging directory of its own beside it, which is
  then renamed to `target` with the permissions `mkdir` would give it.

  Raises:
    OSError: it could not be made (`target` does not exist; no staging left).
  """
  target = pathlib.Path(target)
  target.parent.mkdir(parents=True, exist_ok=True)
  staging = pathlib.Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
  try:
    fill(staging)
    os.chmod(staging, 0o777 & ~_umask())
    staging.rename(target)
  except BaseException:
    shutil.rmtree(staging, ignore_errors=True)
    raise
