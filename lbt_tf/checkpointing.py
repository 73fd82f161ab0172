"""Checkpoints of a whole training state, and loading weights to fine-tune.

A checkpoint holds every network, every optimizer (an unroll continues from
the live Adam state), the trainer's random-number state and, through the
generator optimizer's iteration count, the step. The data
pipeline is indexed by step, so a resumed run sees the batches an
uninterrupted one would have seen.

TensorFlow writes a checkpoint's files first and the `checkpoint` index last,
so a process killed mid-save leaves the previous checkpoint as the latest.
"""

import pathlib
import tempfile

import tensorflow as tf

from lbt_tf.errors import first_line

CHECKPOINT_DIR = "checkpoints"
KEEP = 3
NETWORKS = ("generator", "discriminator", "estimator", "reconstructor")


class CheckpointError(ValueError):
  pass


def networks_of(trainer) -> dict:
  return {name: getattr(trainer, name) for name in NETWORKS
          if getattr(trainer, name, None) is not None}


def optimizers_of(trainer) -> dict:
  names = tuple(f"{network}_optimizer" for network in NETWORKS)
  return {name: getattr(trainer, name) for name in names
          if getattr(trainer, name, None) is not None}


def training_state(trainer) -> tf.train.Checkpoint:
  return tf.train.Checkpoint(**networks_of(trainer), **optimizers_of(trainer),
                             seed_state=trainer.seed_generator.state)


def step_of(trainer) -> int:
  """Completed iterations: one generator update per iteration."""
  return int(trainer.generator_optimizer.iterations.numpy())


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
    self.manager = tf.train.CheckpointManager(self.state, str(self.directory),
                                              max_to_keep=KEEP)
    self.save_manager = self.manager
    if not writer:
      scratch = tempfile.mkdtemp(prefix="lbt_tf_worker_checkpoints_")
      self.save_manager = tf.train.CheckpointManager(self.state, scratch,
                                                     max_to_keep=1)

  def save(self) -> str:
    return self.save_manager.save(checkpoint_number=step_of(self.trainer))

  def save_if_new(self) -> str:
    """Save unless the latest checkpoint already holds the current step."""
    path = str(pathlib.Path(self.save_manager.directory) / f"ckpt-{step_of(self.trainer)}")
    return path if self.save_manager.latest_checkpoint == path else self.save()

  def restore_latest(self, report=print) -> int:
    """Restore the newest readable checkpoint; returns its step (0 if none).

    An unreadable checkpoint is reported, renamed aside (never deleted) and
    the one before it is tried.
    """
    candidates = list(reversed(self.manager.checkpoints))
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
  """Rename a checkpoint's files to `<name>.corrupt*` so no manager reuses them."""
  path = pathlib.Path(path)
  for f in path.parent.glob(path.name + ".*"):
    f.rename(f.with_name(f.name.replace(path.name, path.name + ".corrupt", 1)))
  return str(path) + ".corrupt"


def resolve(path) -> str:
  """A checkpoint prefix from a prefix or a run directory; one-line errors."""
  path = pathlib.Path(path)
  if path.is_dir():
    directory = path / CHECKPOINT_DIR if (path / CHECKPOINT_DIR).is_dir() else path
    latest = tf.train.latest_checkpoint(str(directory))
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
  for name, network in networks_of(trainer).items():
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
