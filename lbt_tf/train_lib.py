"""Build a run from its config, train it, export and evaluate the generator.

`train_and_evaluate(config, workdir)` is the whole job; the command line in
`train.py` is a thin wrapper around it.
"""

import json
import pathlib
import time

import keras
import numpy as np
import tensorflow as tf

from export import loading, saved_model
from lbt_tf import callbacks, checkpointing, config as config_lib, eval_lib
from lbt_tf import distributed, image_data, metrics_csv, mixtures, networks, plots
from lbt_tf.errors import first_line
from lbt_tf.estimator import VAE
from trainers.gan import GAN, PacGAN, UnrolledGAN
from trainers.lbt import LBT, LBTGAN
from trainers.veegan import VEEGAN

EVAL_SEED = eval_lib.EVAL_SEED


class TrainingDiverged(RuntimeError):
  pass


def make_mixture(config: config_lib.Config) -> mixtures.GaussianMixture2D:
  return mixtures.make_mixture(**config_lib.mixture_spec(config))


def adam(lr, beta_1=0.9, **kwargs):
  return keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, **kwargs)


def data_shape(config: config_lib.Config):
  """One example's shape: (2,) for the mixtures, (height, width, channels)
  for images."""
  if config_lib.is_image(config.dataset):
    return image_data.image_shape(config.dataset, config.image_size)
  return (2,)


def build_trainer(config: config_lib.Config):
  """The method's Keras trainer with its networks, compiled and ready to fit.

  MLP networks for the mixtures, DCGAN-style ones for images. Every method
  gets the same generator, and every method with a discriminator the same
  discriminator widths (an equal budget).
  """
  keras.utils.set_random_seed(config.seed)
  shape = data_shape(config)
  images = len(shape) == 3
  data_dim = int(np.prod(shape))
  if images:
    generator = networks.dcgan_generator(config.noise_dim, shape,
                                         config.generator_width)
  else:
    generator = networks.mlp_generator(config.noise_dim, data_dim,
                                       config.generator_units, config.activation)
  optimizers = dict(generator_optimizer=adam(
      config.generator_lr, config.generator_beta1,
      global_clipnorm=config.generator_clipnorm))

  def new_discriminator(samples_per_input=1, code_dim=0):
    """D (and its optimizer) for inputs of `samples_per_input` samples
    (PacGAN packs several: along the features of 2-D points, along the
    channels of images), joined by a `code_dim` noise code (VEEGAN's (z, x))."""
    optimizers["discriminator_optimizer"] = adam(config.discriminator_lr,
                                                 config.discriminator_beta1)
    if images:
      packed = shape[:-1] + (shape[-1] * samples_per_input,)
      return networks.dcgan_discriminator(packed, config.discriminator_width)
    return networks.mlp_discriminator(code_dim + data_dim * samples_per_input,
                                      config.discriminator_units, config.activation)

  shared = dict(noise_dim=config.noise_dim, seed=config.seed)
  if config.method == "gan":
    trainer = GAN(generator, discriminator=new_discriminator(), **shared)
  elif config.method == "pacgan":
    trainer = PacGAN(generator, discriminator=new_discriminator(config.pack),
                     pack=config.pack, **shared)
  elif config.method == "unrolled-gan":
    trainer = UnrolledGAN(generator, discriminator=new_discriminator(),
                          unroll_steps=config.unroll_steps,
                          stop_second_moment=config.stop_second_moment, **shared)
  elif config.method == "veegan":
    if images:
      raise ValueError("veegan is implemented for the 2-D mixtures only")
    # F mirrors G: samples -> noise through the generator's hidden widths.
    reconstructor = networks.mlp(data_dim, config.generator_units,
                                 config.noise_dim, config.activation,
                                 "reconstructor")
    optimizers["reconstructor_optimizer"] = adam(config.generator_lr,
                                                 config.generator_beta1)
    trainer = VEEGAN(generator, discriminator=new_discriminator(code_dim=config.noise_dim),
                     reconstructor=reconstructor, **shared)
  else:
    trainer = build_lbt(config, generator, data_dim, optimizers, new_discriminator,
                        shared)
  trainer.compile(**optimizers, steps_per_execution=config.steps_per_execution,
                  jit_compile=config.jit_compile)
  return trainer


def build_lbt(config, generator, data_dim, optimizers, new_discriminator, shared):
  estimator = VAE(data_dim, config.latent_dim, config.estimator_units,
                  config.activation, config.decoder_likelihood,
                  config.decoder_variance, config.learn_decoder_variance)
  optimizers["estimator_optimizer"] = (
      adam(config.estimator_lr) if config.estimator_optimizer == "adam"
      else keras.optimizers.SGD(config.estimator_lr))
  lbt_settings = dict(estimator_steps=config.estimator_steps,
                      unroll_steps=config.unroll_steps,
                      teaching_warmup=config.teaching_warmup,
                      stop_second_moment=config.stop_second_moment, **shared)
  if config.method == "lbt":
    return LBT(generator, estimator, **lbt_settings)
  return LBTGAN(generator, estimator, discriminator=new_discriminator(),
                adversarial_weight=config.adversarial_weight, **lbt_settings)


def prepare_workdir(config: config_lib.Config, workdir) -> pathlib.Path:
  """Create `workdir`, or check that the run it holds is this one.

  The same settings resume (only --steps may change, to train longer);
  different settings are refused so that no run is silently mixed with another.
  """
  workdir = pathlib.Path(workdir)
  saved = workdir / "config.json"
  if saved.exists():
    previous = config_lib.load(workdir)
    differences = config.differences(previous)
    if differences:
      raise ValueError(
          f"{workdir} holds a run with other settings ({'; '.join(differences[:3])}"
          f"{'; ...' if len(differences) > 3 else ''}); resume it with --resume "
          "or choose a new --workdir")
  elif workdir.exists() and any(workdir.iterdir()):
    raise ValueError(f"{workdir} is not empty and holds no lbt_tf run; "
                     "choose a new --workdir")
  workdir.mkdir(parents=True, exist_ok=True)
  staging = workdir / "config.json.tmp"
  staging.write_text(config.to_json())
  staging.replace(saved)  # atomic: never a half-written config
  return workdir


def load_generator_signature(model, version=None):
  """(z -> samples as NumPy, metadata, model_dir) of an exported generator."""
  model_dir = loading.resolve_model_dir(model, version)
  metadata = loading.metadata(model_dir)
  try:
    serve = tf.saved_model.load(str(model_dir)).signatures["serving_default"]
  except (OSError, tf.errors.OpError, KeyError) as e:
    raise ValueError(f"{model_dir} is not a loadable generator SavedModel "
                     f"({first_line(e)})") from None
  if "noise_dim" not in metadata:
    metadata["noise_dim"] = serve.structured_input_signature[1]["z"].shape[1]
  return (lambda z: serve(z=tf.constant(z))["samples"].numpy()), metadata, model_dir


class Interrupted(RuntimeError):
  pass


def load_data(config: config_lib.Config):
  """The training distribution: a 2-D mixture, or an image set in memory.

  Both draw batch i from (seed, i) with `tf_sample`."""
  if config_lib.is_image(config.dataset):
    return image_data.load(config.dataset, config.data_dir, config.image_size)
  return make_mixture(config)


def fit(trainer, config, data, callbacks, guard):
  """Train from the trainer's current step to config.steps, one evaluation
  period (a Keras epoch) at a time; a period cut short by a resume is
  finished first."""
  periods = config.steps // config.eval_every
  step = checkpointing.step_of(trainer)
  while step < config.steps and not guard.problem:
    period, offset = divmod(step, config.eval_every)
    batches = mixtures.training_batches(data, config.batch_size, config.seed,
                                        start=step)
    trainer.fit(batches, initial_epoch=period,
                epochs=period + 1 if offset else periods,
                steps_per_epoch=config.eval_every - offset,
                callbacks=callbacks, verbose="auto", shuffle=False)
    step = checkpointing.step_of(trainer)


def train_and_evaluate(config: config_lib.Config, workdir, init_from=None,
                       report=print, strategy=None) -> dict:
  """Train (resuming from `workdir`'s checkpoints if any), export to
  `workdir/generator/<version>`, evaluate; returns the final metrics.

  With a `strategy` (see `lbt_tf.distributed`) the networks are replicated
  and config.batch_size is the global batch. On a cluster every worker runs
  this; only the chief writes to `workdir` (which all workers must see),
  exports and evaluates, and the others return {"step", "fingerprint"}.
  """
  strategy = strategy or tf.distribute.get_strategy()
  chief = distributed.is_chief(strategy)
  workdir = prepare_workdir(config, workdir) if chief else pathlib.Path(workdir)
  data = load_data(config)
  with strategy.scope():
    trainer = build_trainer(config)
  checkpointer = checkpointing.Checkpointer(trainer, workdir, writer=chief)
  start = checkpointer.restore_latest(report)
  if start:
    report(f"resuming from the checkpoint at step {start}")
  elif init_from:
    prefix = checkpointing.load_network_weights(trainer, init_from, report)
    report(f"networks initialised from {prefix}")

  guard = callbacks.StopOnNonFinite()
  saver = callbacks.PeriodicCheckpoint(checkpointer, config.checkpoint_every, guard)
  training_callbacks = [guard, saver]
  evaluation = scorer = None
  if chief:
    scorer = eval_lib.make_scorer(config, data, workdir, report)
    evaluation = callbacks.PeriodicEvaluation(
        scorer.periodic, workdir / "metrics.csv", workdir / "logs",
        history=metrics_csv.rows_up_to(workdir / "metrics.csv", start))
    training_callbacks.append(evaluation)
  clock = time.perf_counter()
  try:
    if distributed.is_replicated(strategy):
      distributed.replicated_fit(trainer, strategy, config, data,
                                 training_callbacks, verbose=chief)
    else:
      fit(trainer, config, data, training_callbacks, guard)
  except KeyboardInterrupt:
    path = checkpointer.save()
    raise Interrupted(f"interrupted at step {checkpointing.step_of(trainer)}; "
                      f"saved {path}; run the same command to resume") from None
  train_seconds = time.perf_counter() - clock
  if guard.problem:
    latest = checkpointer.manager.latest_checkpoint
    kept = (f"the last good checkpoint {latest} is kept" if latest
            else "no checkpoint had been saved yet")
    raise TrainingDiverged(
        f"training stopped: {guard.problem}; {kept}; try lower learning "
        "rates (--generator-lr, --estimator-lr) or a larger --decoder-variance")
  checkpointer.save_if_new()

  step = checkpointing.step_of(trainer)
  fingerprint = distributed.weights_fingerprint(trainer)
  if not chief:
    return {"step": step, "fingerprint": fingerprint}
  export_dir = previous_export(workdir / "generator", step)
  if export_dir is None:
    export_dir = saved_model.export_generator(
        trainer.generator, config.noise_dim, workdir / "generator",
        metadata=export_metadata(config, step))
  # The final numbers are the exported generator's, not the live model's.
  generate, _, _ = load_generator_signature(export_dir)
  metrics = scorer.final(generate, step)
  trained = step - start
  metrics.update(step=step, train_seconds=train_seconds, fingerprint=fingerprint,
                 replicas=strategy.num_replicas_in_sync,
                 iterations_per_second=trained / train_seconds if trained else 0.0,
                 generator=str(export_dir))
  (workdir / "metrics.json").write_text(json.dumps(metrics, indent=2))
  history = evaluation.history
  if history:
    plots.metric_curves(
        {config.method: {k: [row[k] for row in history] for k in history[0]}},
        workdir / "metrics.png", config.dataset,
        panels=(plots.IMAGE_CURVES if config_lib.is_image(config.dataset)
                else plots.CURVES))
  return metrics


def previous_export(base, step):
  """The newest exported version if it already holds this step's generator
  (re-running a finished run must not pile up identical versions)."""
  try:
    newest = loading.resolve_model_dir(base)
  except FileNotFoundError:
    return None
  return newest if loading.metadata(newest).get("step") == step else None


def export_metadata(config: config_lib.Config, step: int) -> dict:
  metadata = {"dataset": config.dataset, "method": config.method, "step": step}
  if config_lib.is_image(config.dataset):
    metadata["image_shape"] = list(data_shape(config))
  else:
    metadata["mixture"] = config_lib.mixture_spec(config)
  return metadata
