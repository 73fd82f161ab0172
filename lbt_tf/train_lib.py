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

from export import saved_model
from lbt_tf import callbacks, config as config_lib, mixture_metrics
from lbt_tf import mixtures, networks, plots, sampling
from lbt_tf.estimator import VAE
from trainers.gan import GAN
from trainers.lbt import LBT, LBTGAN

EVAL_SEED = 1234  # noise for the evaluations; fixed so that runs compare


class TrainingDiverged(RuntimeError):
  pass


def make_mixture(config: config_lib.Config) -> mixtures.GaussianMixture2D:
  return mixtures.make_mixture(config.layout, config.num_modes, config.std,
                               config.radius, config.spacing)


def mixture_spec(config: config_lib.Config) -> dict:
  """What an independent evaluator needs to rebuild the true distribution."""
  return {k: getattr(config, k)
          for k in ("layout", "num_modes", "radius", "spacing", "std")}


def adam(lr, beta_1=0.9, **kwargs):
  return keras.optimizers.Adam(learning_rate=lr, beta_1=beta_1, **kwargs)


def build_trainer(config: config_lib.Config, data_dim: int = 2):
  """The method's Keras trainer with its networks, compiled and ready to fit."""
  keras.utils.set_random_seed(config.seed)
  generator = networks.mlp_generator(config.noise_dim, data_dim,
                                     config.generator_units, config.activation)
  optimizers = dict(generator_optimizer=adam(
      config.generator_lr, config.generator_beta1,
      global_clipnorm=config.generator_clipnorm))
  discriminator = None
  if config.method in ("gan", "lbt-gan"):
    discriminator = networks.mlp_discriminator(
        data_dim, config.discriminator_units, config.activation)
    optimizers["discriminator_optimizer"] = adam(config.discriminator_lr,
                                                 config.discriminator_beta1)

  if config.method == "gan":
    trainer = GAN(generator, config.noise_dim, discriminator, seed=config.seed)
  else:
    estimator = VAE(data_dim, config.latent_dim, config.estimator_units,
                    config.activation, config.decoder_likelihood,
                    config.decoder_variance, config.learn_decoder_variance)
    optimizers["estimator_optimizer"] = (
        adam(config.estimator_lr) if config.estimator_optimizer == "adam"
        else keras.optimizers.SGD(config.estimator_lr))
    lbt_settings = dict(estimator_steps=config.estimator_steps,
                        unroll_steps=config.unroll_steps,
                        stop_second_moment=config.stop_second_moment,
                        seed=config.seed)
    if config.method == "lbt":
      trainer = LBT(generator, estimator, config.noise_dim, **lbt_settings)
    else:
      trainer = LBTGAN(generator, estimator, config.noise_dim, discriminator,
                       adversarial_weight=config.adversarial_weight,
                       **lbt_settings)
  trainer.compile(**optimizers, steps_per_execution=config.steps_per_execution,
                  jit_compile=config.jit_compile)
  return trainer


def prepare_workdir(workdir) -> pathlib.Path:
  workdir = pathlib.Path(workdir)
  if (workdir / "config.json").exists():
    raise FileExistsError(
        f"{workdir} already holds a run (config.json); choose a new --workdir")
  workdir.mkdir(parents=True, exist_ok=True)
  return workdir


def load_generator_signature(model_dir):
  """The `serving_default` function and metadata of an exported generator."""
  model_dir = pathlib.Path(model_dir)
  if not (model_dir / "saved_model.pb").exists():
    versions = sorted((p for p in model_dir.glob("*") if p.name.isdigit()),
                      key=lambda p: int(p.name))
    if not versions:
      raise FileNotFoundError(
          f"no SavedModel in {model_dir}: expected saved_model.pb or "
          "numbered version folders (BASE/1/saved_model.pb)")
    model_dir = versions[-1]
  metadata_path = model_dir / "assets" / saved_model.METADATA_FILE
  metadata = json.loads(metadata_path.read_text()) if metadata_path.exists() else {}
  serve = tf.saved_model.load(str(model_dir)).signatures["serving_default"]
  return (lambda z: serve(z=tf.constant(z))["samples"].numpy()), metadata, model_dir


def evaluate_saved_model(model_dir, mixture, num_samples, seed=EVAL_SEED):
  generate, metadata, model_dir = load_generator_signature(model_dir)
  samples = sampling.sample(generate, metadata["noise_dim"], num_samples, seed)
  return mixture_metrics.evaluate(samples, mixture), samples


def train_and_evaluate(config: config_lib.Config, workdir) -> dict:
  """Train, export to `workdir/generator/<version>`, evaluate; returns metrics."""
  workdir = prepare_workdir(workdir)
  (workdir / "config.json").write_text(config.to_json())
  mixture = make_mixture(config)
  trainer = build_trainer(config)
  data = mixtures.training_batches(mixture, config.batch_size, config.seed)

  evaluation = callbacks.MixtureEvaluation(
      mixture, config.noise_dim, config.eval_every, config.eval_samples,
      workdir / "metrics.csv", workdir / "logs", seed=EVAL_SEED)
  guard = callbacks.StopOnNonFinite()
  start = time.perf_counter()
  trainer.fit(data, epochs=config.steps // config.eval_every,
              steps_per_epoch=config.eval_every, callbacks=[evaluation, guard],
              verbose="auto", shuffle=False)
  train_seconds = time.perf_counter() - start
  if guard.problem:
    raise TrainingDiverged(
        f"training stopped: {guard.problem}; try lower learning rates "
        "(--generator-lr, --estimator-lr) or a larger --decoder-variance")

  export_dir = saved_model.export_generator(
      trainer.generator, config.noise_dim, workdir / "generator",
      metadata={"dataset": config.dataset, "method": config.method,
                "step": evaluation.step, "mixture": mixture_spec(config)})
  metrics, samples = evaluate_saved_model(export_dir, mixture,
                                          config.final_eval_samples)
  metrics.update(step=evaluation.step, train_seconds=train_seconds,
                 iterations_per_second=config.steps / train_seconds,
                 generator=str(export_dir))
  (workdir / "metrics.json").write_text(json.dumps(metrics, indent=2))

  extent = plots.plot_extent(mixture.means, mixture.std)
  data_samples = mixture.sample(len(samples), np.random.default_rng(EVAL_SEED))
  plots.density_figure({"data": data_samples, config.method: samples}, extent,
                       workdir / "density.png",
                       f"{config.dataset}, {evaluation.step} iterations")
  history = evaluation.history
  plots.metric_curves(
      {config.method: {k: [row[k] for row in history] for k in history[0]}},
      workdir / "metrics.png", config.dataset)
  return metrics
