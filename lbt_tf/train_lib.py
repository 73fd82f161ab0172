"""Build a run from its config, train it, export and evaluate the generator.

`train_and_evaluate(config, workdir)` is the whole job; the command line in
`train.py` is a thin wrapper around it. The method comes from the registry
(`lbt_tf.methods`), built from the run's `Parts`.
"""

import contextlib
import json
import math
import pathlib
import time

import keras
import tensorflow as tf

from lbt_tf import callbacks, checkpointing, cli, config as config_lib
from lbt_tf import distributed, errors, files, metrics_csv, plots, runlock
from lbt_tf.data import datasets, image_data, mixtures
from lbt_tf.errors import UserError
from lbt_tf.export import generators, saved_model
from lbt_tf.methods import METHODS
from lbt_tf.metrics import scoring
from lbt_tf.parts import Parts


class TrainingDiverged(UserError):
  pass


class Interrupted(UserError):
  pass


def check(config: config_lib.Config) -> datasets.DataInfo:
  """Every check of `config`, the method's and the estimator's included:
  one-line ValueErrors, raised before anything is written. Returns what the
  networks need to know of the data."""
  config.validate()
  data = datasets.data_info(config)
  METHODS.get(config.method).refuse(config, data)
  return data


def build_trainer(config: config_lib.Config):
  """The method's Keras trainer with its networks, compiled and ready to fit."""
  data = check(config)
  keras.utils.set_random_seed(config.seed)
  return METHODS.get(config.method).from_config(config, Parts(config, data))


def check_workdir(config: config_lib.Config, workdir: pathlib.Path) -> bool:
  """Refuse a `workdir` that holds another run, or something else (reads only).

  The same settings resume (only --steps may change, to train longer, never
  below the latest checkpoint); different settings are refused so that no
  run is silently mixed with another. A run that never saved a checkpoint
  holds no training: any settings may start it over, and True says so (see
  `set_aside_earlier_start`), so a failed start never locks its directory.
  """
  cli.refuse_glob_characters("--workdir", workdir)
  if (workdir / "config.json").exists():
    saved = checkpointing.checkpoint_files(workdir / checkpointing.CHECKPOINT_DIR)
    if not saved:  # whatever it was (even settings refused today), nothing is lost
      try:
        return bool(config.differences(config_lib.load(workdir)))
      except ValueError:
        return True
    differences = config.differences(config_lib.load(workdir))
    if differences:
      raise ValueError(
          f"{workdir} holds a run with other settings ({'; '.join(differences[:3])}"
          f"{'; ...' if len(differences) > 3 else ''}); resume it with --resume "
          "or choose a new --workdir")
    latest = checkpointing.prefix_step(saved[-1])
    if config.steps < latest:
      raise ValueError(
          f"--steps {config.steps} is below step {latest} of this run's latest "
          f"checkpoint ({saved[-1]}); a run is never cut back: give --steps {latest} "
          "or more, or choose a new --workdir")
  elif workdir.exists() and not workdir.is_dir():
    raise ValueError(f"{workdir} is a file, not a run directory")
  elif workdir.exists() and any(p.name != runlock.LOCK_FILE for p in workdir.iterdir()):
    raise ValueError(f"{workdir} is not empty and holds no lbt_tf run; "
                     "choose a new --workdir")
  return False


EARLIER_START = "earlier-start"


def set_aside_earlier_start(workdir: pathlib.Path, report=print) -> pathlib.Path:
  """Move what a start that never reached a checkpoint left in `workdir`
  (its config.json, metrics.csv, logs, ...) into `workdir/earlier-start`
  (`-2`, `-3`, ... if that is taken): the new run's files are its own, and
  the earlier ones are kept as evidence. Call with the run's lock held."""
  n = 1
  while (aside := workdir / (EARLIER_START + (f"-{n}" if n > 1 else ""))).exists():
    n += 1
  aside.mkdir()
  for path in workdir.iterdir():
    if path.name != runlock.LOCK_FILE and not path.name.startswith(EARLIER_START):
      path.rename(aside / path.name)
  report(f"{workdir} held a start with other settings that never saved a "
         f"checkpoint; starting over, its files moved to {aside}")
  return aside


def write_config(config: config_lib.Config, workdir: pathlib.Path):
  try:
    files.write_text(workdir / "config.json", config.to_json())  # never half a config
  except OSError as e:
    raise errors.cannot_write(workdir / "config.json", e) from None


def load_data(config: config_lib.Config, report=print):
  """The training distribution: a 2-D mixture, or an image set in memory.

  Both draw batch i from (seed, i) with `tf_sample`."""
  if config.data.is_image:
    return image_data.load(config.data, config.data_dir, config.image_size, report)
  return mixtures.of_config(config)


def fit(trainer, config, data, callbacks, guard):
  """Train from the trainer's current step to config.steps, one evaluation
  period (a Keras epoch) at a time; a period cut short by a resume is
  finished first."""
  period_length = config.eval_period
  periods = config.steps // period_length
  step = checkpointing.step_of(trainer)
  while step < config.steps and not guard.problem:
    period, offset = divmod(step, period_length)
    batches = mixtures.training_batches(
        data, config.batch_size * trainer.batches_per_iteration, config.seed, start=step)
    trainer.fit(batches, initial_epoch=period,
                epochs=period + 1 if offset else periods,
                steps_per_epoch=period_length - offset,
                callbacks=callbacks, verbose=callbacks_verbosity(), shuffle=False)
    step = checkpointing.step_of(trainer)


def callbacks_verbosity():
  """Keras's progress bar on a terminal; one plain line per period in a log
  (a bar's carriage returns and ANSI codes would fill it)."""
  import sys  # pylint: disable=g-import-not-at-top
  return "auto" if sys.stdout.isatty() else 2


def train_and_evaluate(config: config_lib.Config, workdir, init_from=None,
                       report=print, strategy=None) -> dict:
  """Train (resuming from `workdir`'s checkpoints if any), export to
  `workdir/generator/<version>`, evaluate; returns the final metrics.

  Everything is checked before anything is written: the settings (the
  method's and the estimator's refusals included), the run directory, the
  data, and --init-from. With a `strategy` (see `lbt_tf.distributed`) the
  networks are replicated and config.batch_size is the global batch. On a
  cluster every worker runs this; only the chief writes to `workdir` (which
  all workers must see), exports and evaluates, and the others return
  {"step", "fingerprint"}.
  """
  strategy = strategy or tf.distribute.get_strategy()
  chief = distributed.is_chief(strategy)
  workdir = pathlib.Path(workdir)
  check(config)
  if chief:
    check_workdir(config, workdir)
  data = load_data(config, report)
  with strategy.scope():
    trainer = build_trainer(config)
  checkpointer = checkpointing.Checkpointer(trainer, workdir, writer=chief)
  fresh = not checkpointer.has_checkpoints()
  if fresh and init_from:  # refuse an incompatible source before writing
    prefix = checkpointing.load_network_weights(trainer, init_from, report)
    report(f"networks initialised from {prefix}")
  lock = runlock.RunLock(workdir, report) if chief else contextlib.nullcontext()
  with lock:
    if chief:  # checked again now that no other process can write there
      if check_workdir(config, workdir):
        set_aside_earlier_start(workdir, report)
      write_config(config, workdir)
    return _train_and_evaluate(config, workdir, trainer, checkpointer, data,
                               report, strategy, chief)


def _train_and_evaluate(config, workdir, trainer, checkpointer, data, report,
                        strategy, chief):
  start = checkpointer.restore_latest(report)
  if start:
    report(f"resuming from the checkpoint at step {start}")

  guard = callbacks.StopOnNonFinite()
  saver = callbacks.PeriodicCheckpoint(checkpointer, config.checkpoint_period, guard)
  training_callbacks = [guard, saver]
  evaluation = scorer = None
  if chief:
    scorer = scoring.make_scorer(config, data, workdir, trainer.noise_dim, report)
    evaluation = callbacks.PeriodicEvaluation(
        scorer.periodic, workdir / "metrics.csv", workdir / "logs",
        history=metrics_csv.rows_up_to(workdir / "metrics.csv", start, report))
    training_callbacks.append(evaluation)
    if start and start % config.eval_period == 0 and start < config.steps:
      evaluation.evaluate_if_missing(trainer, start)  # killed before its row
  training_callbacks.append(callbacks.InterruptOnSignal())  # after the NaN guard
  clock = time.perf_counter()
  try:
    if distributed.is_replicated(strategy):
      distributed.replicated_fit(trainer, strategy, config, data,
                                 training_callbacks, verbose=chief)
    else:
      fit(trainer, config, data, training_callbacks, guard)
    if not guard.problem:  # a signal lost during the last period's evaluation
      callbacks.raise_if_signalled()
  except KeyboardInterrupt:
    path = checkpointer.save()
    raise Interrupted(f"interrupted at step {checkpointing.step_of(trainer)}; "
                      f"saved {path}; run the same command to resume") from None
  # Training time: the periodic evaluations' scoring is not part of it.
  scoring_seconds = evaluation.seconds if evaluation else 0.0
  train_seconds = time.perf_counter() - clock - scoring_seconds
  if guard.problem:
    latest = checkpointer.manager.latest_checkpoint
    kept = (f"the last good checkpoint {latest} is kept" if latest
            else "no checkpoint had been saved yet")
    raise TrainingDiverged(f"training stopped: {guard.problem}; {kept}; "
                           + divergence_advice(config, guard.losses))
  checkpointer.save_if_new()

  step = checkpointing.step_of(trainer)
  fingerprint = distributed.weights_fingerprint(trainer)
  if not chief:
    return {"step": step, "fingerprint": fingerprint}
  try:
    export_dir = previous_export(workdir / "generator", step)
    if export_dir is None:
      export_dir = saved_model.export_generator(
          trainer.generator, trainer.noise_dim, workdir / "generator",
          metadata=export_metadata(config, step))
    callbacks.raise_if_signalled()  # a signal lost during the export
    # The final numbers are the exported generator's, not the live model's.
    exported = generators.load(export_dir)
    metrics = scorer.final(exported.generate, step)
    callbacks.raise_if_signalled()  # or during the scoring
  except KeyboardInterrupt:
    raise Interrupted(f"interrupted during the final export and evaluation; the "
                      f"training (step {step}) is saved in {checkpointer.latest()}: "
                      "run the same command to export and score it") from None
  trained = step - start
  metrics.update(step=step, trained_iterations=trained, train_seconds=train_seconds,
                 evaluation_seconds=scoring_seconds,
                 fingerprint=fingerprint, replicas=strategy.num_replicas_in_sync,
                 iterations_per_second=trained / train_seconds if trained else None,
                 generator=str(export_dir))
  write_json(workdir / "metrics.json", metrics)
  history = evaluation.history
  if history:
    columns = {k: [row.get(k, math.nan) for row in history] for k in history[0]}
    plots.metric_curves(
        {config.method: columns},
        workdir / "metrics.png", config.dataset,
        panels=plots.IMAGE_CURVES if config.data.is_image else plots.CURVES)
  return metrics


# The learning rate of the network each loss trains.
LOSS_LEARNING_RATES = {"g_loss": "--generator-lr", "d_loss": "--discriminator-lr",
                       "f_E": "--estimator-lr", "f_G": "--estimator-lr",
                       "reconstruction": "--generator-lr"}


def divergence_advice(config: config_lib.Config, losses) -> str:
  """What to change when `losses` became NaN or Inf: the learning rates of
  the networks they train (and a VAE's decoder variance)."""
  flags = sorted({LOSS_LEARNING_RATES.get(name, "--generator-lr") for name in losses})
  advice = f"try a lower {' or '.join(flags) or '--generator-lr'}"
  if config.estimator in ("vae", "iwae") and {"f_E", "f_G"} & set(losses):
    advice += " or a larger --decoder-variance"
  return advice


def write_json(path: pathlib.Path, values: dict):
  """Write `values` as JSON whole or not at all (`files.write_text`)."""
  try:
    files.write_text(path, json.dumps(values, indent=2))
  except OSError as e:
    raise errors.cannot_write(path, e) from None


def previous_export(base, step):
  """The newest exported version if it already holds this step's generator
  (re-running a finished run must not pile up identical versions)."""
  try:
    newest = generators.resolve_model_dir(base)
  except FileNotFoundError:
    return None
  return newest if generators.metadata(newest).get("step") == step else None


def export_metadata(config: config_lib.Config, step: int) -> dict:
  metadata = {"dataset": config.dataset, "method": config.method,
              "estimator": config.estimator, "step": step}
  if config.data.is_image:
    metadata["image_shape"] = list(config.data.example_shape(config.image_size))
  else:
    metadata["mixture"] = datasets.mixture_spec(config)
  return metadata
