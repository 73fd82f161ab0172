"""Checkpoints of a whole training state, and loading weights to fine-tune.

A checkpoint holds what the trainer names as its state (`networks()` and
`optimizers()`: every network, every optimizer, so an unroll continues from
the live Adam state), the trainer's random-number state and, through the
optimizers' iteration counts, the step. The data pipeline is indexed by
step, so a resumed run sees the batches an uninterrupted one would have seen.

Nothing valid is ever lost: checkpoints are found from their own files (a
damaged `checkpoint` state file is rebuilt from them and kept aside), an
unreadable checkpoint is renamed aside (never deleted, never overwriting
earlier evidence), and a save that fails (a full disk) removes its partial
files and says which file it could not write.
"""

import pathlib
import re
import shutil
import tempfile

import tensorflow as tf

from lbt_tf.errors import first_line, reason

CHECKPOINT_DIR = "checkpoints"
STATE_FILE = "checkpoint"  # TensorFlow's index of the checkpoints
KEEP = 3


class CheckpointError(ValueError):
  pass


def training_state(trainer) -> tf.train.Checkpoint:
  return tf.train.Checkpoint(**trainer.networks(), **trainer.optimizers(),
                             **trainer.counters(), seed_state=trainer.seed_generator.state)


def step_of(trainer) -> int:
  """Completed iterations."""
  return int(trainer.iteration.numpy())


def checkpoint_files(directory) -> list:
  """Prefixes of the complete-looking checkpoints in `directory`, oldest
  first, found from the files themselves (`ckpt-N.index` beside its data)."""
  found = []
  for index in pathlib.Path(directory).glob("ckpt-*.index"):
    match = re.fullmatch(r"ckpt-(\d+)\.index", index.name)
    if match and list(index.parent.glob(f"ckpt-{match.group(1)}.data-*")):
      found.append((int(match.group(1)), str(index.with_suffix(""))))
  return [prefix for _, prefix in sorted(found)]


def prefix_step(prefix) -> int:
  """N of a checkpoint prefix `.../ckpt-N`."""
  return int(pathlib.Path(prefix).name.rsplit("-", 1)[1])


def write_index(directory, files):
  """TensorFlow's index of `directory`, listing every checkpoint in `files`
  (prefixes, oldest first), each with its own time (its .index file's), so
  that a `CheckpointManager` reading it prunes the old ones too: an index
  without times makes the manager keep every checkpoint it lists forever."""
  times = [pathlib.Path(f + ".index").stat().st_mtime for f in files]
  tf.compat.v1.train.update_checkpoint_state(
      str(directory), files[-1], all_model_checkpoint_paths=files,
      all_model_checkpoint_timestamps=times, last_preserved_timestamp=min(times) - 1)


def unique_aside(path: pathlib.Path, tag: str = "corrupt") -> str:
  """`path` + `.corrupt`, or `.corrupt-2`, `-3`, ...: the first name no
  earlier evidence uses."""
  n = 1
  while True:
    aside = f"{path.name}.{tag}" + (f"-{n}" if n > 1 else "")
    if not list(path.parent.glob(aside + "*")):
      return str(path.parent / aside)
    n += 1


class Checkpointer:
  """Saves `trainer`'s state under `workdir/checkpoints`, keeping the last few.

  With several workers only the chief writes there (`writer=True`); the
  others take part in every save (it may need all of them) into a scratch
  directory, and restore from the chief's checkpoints.
  """

  def __init__(self, trainer, workdir, writer: bool = True):
    self.trainer = trainer
    self.writer = writer
    self.directory = pathlib.Path(workdir) / CHECKPOINT_DIR
    self.state = training_state(trainer)
    self.manager = None
    self.save_manager = None
    if not writer:
      scratch = tempfile.mkdtemp(prefix="lbt_tf_worker_checkpoints_")
      self.save_manager = tf.train.CheckpointManager(self.state, scratch,
                                                     max_to_keep=1)

  def latest(self) -> str:
    files = checkpoint_files(self.directory)
    return files[-1] if files else "(no checkpoint)"

  def has_checkpoints(self) -> bool:
    return bool(checkpoint_files(self.directory))

  def _open(self, report):
    """The manager of the checkpoint directory, its state file first made
    to agree with the checkpoints there (once, before any read or save)."""
    if self.manager is not None:
      return self.manager
    files = checkpoint_files(self.directory)
    state_file = self.directory / STATE_FILE
    try:
      # None when the file is missing, or damaged (TensorFlow logs a parse error)
      state = tf.train.get_checkpoint_state(str(self.directory))
      reason = "unreadable"
    except Exception as e:  # pylint: disable=broad-except
      state, reason = None, first_line(e, 120)
    damaged = state is None and state_file.exists()
    listed = [pathlib.Path(p).name for p in state.all_model_checkpoint_paths] if state else []
    if self.writer and files and (damaged or listed != [pathlib.Path(p).name for p in files]):
      if damaged:
        aside = unique_aside(state_file)
        shutil.copyfile(state_file, aside)
        report(f"the checkpoint index {state_file} is damaged ({reason}); kept it "
               f"as {aside} and rebuilt it from the ckpt-* files")
      write_index(self.directory, files)
    self.manager = tf.train.CheckpointManager(self.state, str(self.directory),
                                              max_to_keep=KEEP)
    if self.save_manager is None:
      self.save_manager = self.manager
    return self.manager

  def save(self, report=print) -> str:
    manager = self._open(report) if self.writer else self.save_manager
    step = step_of(self.trainer)
    try:
      return manager.save(checkpoint_number=step)
    except (tf.errors.OpError, OSError) as e:
      # A full disk, a vanished directory...: no partial checkpoint stays.
      for partial in pathlib.Path(manager.directory).glob(f"ckpt-{step}_temp*"):
        shutil.rmtree(partial, ignore_errors=True)
      kept = manager.latest_checkpoint
      raise CheckpointError(
          f"could not write the checkpoint {manager.directory}/ckpt-{step} "
          f"({reason(e)}); "
          + (f"{kept} is kept; " if kept else "")
          + "free some space and run the same command to resume") from None

  def save_if_new(self) -> str:
    """Save unless the latest checkpoint already holds the current step."""
    manager = self._open(print) if self.writer else self.save_manager
    path = str(pathlib.Path(manager.directory) / f"ckpt-{step_of(self.trainer)}")
    return path if manager.latest_checkpoint == path else self.save()

  def restore_latest(self, report=print) -> int:
    """Restore the newest readable checkpoint; returns its step (0 if none).

    An unreadable checkpoint is reported, renamed aside (never deleted) and
    the one before it is tried.
    """
    if self.writer:
      self._open(report)
    candidates = list(reversed(checkpoint_files(self.directory)))
    for path in candidates:
      try:
        self.state.restore(path).assert_existing_objects_matched()
        return step_of(self.trainer)
      except Exception as e:  # pylint: disable=broad-except
        # Corruption surfaces as OpError, ValueError, IndexError, ...: any
        # failure to read this one means trying the one before it.
        reason = first_line(e, 200)
        if not self.writer:
          raise CheckpointError(f"checkpoint {path} is unreadable ({reason})") from None
        aside = set_aside(path)
        report(f"checkpoint {path} is unreadable ({reason}); kept as "
               f"{aside}*, trying the previous one")
    if candidates:  # a failed restore may have half-written the variables
      raise CheckpointError(
          f"no readable checkpoint in {self.directory}; move it aside to "
          "start this run over")
    return 0


def set_aside(path) -> str:
  """Rename a checkpoint's files to `<name>.corrupt*` (a name no earlier
  evidence uses) so no manager reuses them; the index is rebuilt."""
  path = pathlib.Path(path)
  aside = unique_aside(path)
  for f in [path.with_name(path.name + ".index"),
            *path.parent.glob(path.name + ".data-*")]:
    if f.exists():
      f.rename(f.with_name(f.name.replace(path.name, pathlib.Path(aside).name, 1)))
  remaining = checkpoint_files(path.parent)
  if remaining:
    write_index(path.parent, remaining)
  else:
    (path.parent / STATE_FILE).unlink(missing_ok=True)
  return aside


def resolve(path) -> str:
  """A checkpoint prefix from a prefix or a run directory; one-line errors."""
  path = pathlib.Path(path)
  if path.is_dir():
    directory = path / CHECKPOINT_DIR if (path / CHECKPOINT_DIR).is_dir() else path
    files = checkpoint_files(directory)
    latest = files[-1] if files else None
    if latest is None:
      raise CheckpointError(
          f"{path} holds no checkpoint: give a run directory (with "
          f"{CHECKPOINT_DIR}/) or a checkpoint prefix such as RUN/{CHECKPOINT_DIR}/ckpt-5000")
    return latest
  if not pathlib.Path(str(path) + ".index").exists():
    raise CheckpointError(f"{path} is neither a run directory nor a checkpoint "
                          "(no such directory, and no .index file beside it)")
  return str(path)


def restore_exactly(trainer, prefix):
  """Restore a whole training state, or fail in one line if it does not fit."""
  try:
    training_state(trainer).restore(prefix).assert_existing_objects_matched()
  except (tf.errors.OpError, ValueError, AssertionError) as e:
    raise CheckpointError(f"checkpoint {prefix} does not fit this run's "
                          f"settings: {first_line(e, 300)}") from None


def saved_objects(prefix) -> set:
  """Names of the top-level objects (networks, optimizers) in a checkpoint.

  Read from the object graph: a variable's key names only the first path to
  it (often through an optimizer), not the network that owns it.
  """
  from tensorflow.core.protobuf import trackable_object_graph_pb2  # pylint: disable=g-import-not-at-top
  graph = trackable_object_graph_pb2.TrackableObjectGraph()
  graph.ParseFromString(
      tf.train.load_checkpoint(prefix).get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
  return {child.local_name for child in graph.nodes[0].children}


def load_network_weights(trainer, path, report=print) -> str:
  """Fine-tuning: copy the networks' weights from a checkpoint, nothing else.

  Optimizers, step and random state stay fresh. A network the checkpoint
  does not have keeps its initial weights; one whose shapes differ is an error.
  """
  prefix = resolve(path)
  try:
    saved = saved_objects(prefix)
  except (tf.errors.OpError, ValueError) as e:
    raise CheckpointError(f"cannot read checkpoint {prefix}: "
                          f"{first_line(e)}") from None
  for name, network in trainer.networks().items():
    if name not in saved:
      report(f"--init-from: {prefix} has no {name}; it starts from scratch")
      continue
    try:
      status = tf.train.Checkpoint(**{name: network}).read(prefix)
      status.expect_partial()  # the optimizers are left out on purpose
      status.assert_existing_objects_matched()
    except (ValueError, AssertionError, tf.errors.OpError) as e:
      detail = first_line(e)
      raise CheckpointError(
          f"--init-from {prefix}: the {name} does not match this run's "
          f"architecture: {detail}") from None
  return prefix
