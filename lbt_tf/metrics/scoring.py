"""How a run is scored, during training and at the end.

A scorer turns a generator into metrics. Both kinds take `generate(z)`:
the generator in inference mode during training, the exported SavedModel's
`serving_default` at the end (so the final numbers are the export's).

  MixtureScorer  the paper's 2-D metrics (modes covered, high-quality
                 samples, intra-mode KL) and the density figure;
  ImageScorer    modes and KL to uniform by a class classifier (mnist,
                 fashion_mnist and their stacked 1,000-mode versions,
                 stacked_digits) beside the real data's own score (the
                 instrument's floor), FID and KID from Keras's InceptionV3
                 features (when --fid-samples > 0; this library's protocol,
                 not the published one: see `image_metrics`), and sample grids.
"""

import os
import pathlib

import numpy as np
import tensorflow as tf

from lbt_tf import config as config_lib
from lbt_tf import plots
from lbt_tf.data import image_data, mixtures
from lbt_tf.errors import first_line
from lbt_tf.export import generators
from lbt_tf.metrics import image_metrics, mixture_metrics, mode_counting

EVAL_SEED = config_lib.EVAL_SEED


def default_cache_dir() -> pathlib.Path:
  return pathlib.Path(os.environ.get("LBT_TF_CACHE", "~/.cache/lbt_tf")).expanduser()


class MixtureScorer:
  """Scores generated 2-D points against the true mixture; `seed` draws the
  evaluation noise."""

  def __init__(self, config: config_lib.Config, mixture, workdir, noise_dim: int,
               seed: int = EVAL_SEED):
    self.config = config
    self.noise_dim = noise_dim
    self.mixture = mixture
    self.workdir = pathlib.Path(workdir)
    self.seed = seed

  def samples(self, generate, num_samples):
    return generators.draw(generate, self.noise_dim, num_samples, self.seed)

  def score(self, samples) -> dict:
    return mixture_metrics.evaluate(samples, self.mixture)

  def periodic(self, generate, step):
    del step
    return self.score(self.samples(generate, self.config.eval_samples))

  def final(self, generate, step):
    """Metrics on final_eval_samples, and density.png (data beside G)."""
    samples = self.samples(generate, self.config.final_eval_samples)
    metrics = self.score(samples)
    extent = plots.plot_extent(self.mixture.means, self.mixture.std)
    data = self.mixture.sample(len(samples), np.random.default_rng(self.seed))
    plots.density_figure({"data": data, self.config.method: samples}, extent,
                         self.workdir / "density.png",
                         f"{self.config.dataset}, {step} iterations")
    return metrics


def classifier_for(source: str, data_dir: str, cache_dir, report):
  """(classifier of the single-channel items `source`, its info), trained by
  the package on their training split (`image_data.items`: mnist,
  fashion_mnist, sklearn_digits), scored on their test split (a random 20%
  held out for sklearn_digits, which has none), cached in `cache_dir`."""
  def train_and_test():
    images, labels = image_data.items(source, "train", data_dir or None)
    if not image_data.has_test_split(source):
      return mode_counting.held_out_split(images, labels)
    return (images, labels) + image_data.items(source, "test", data_dir or None)
  return mode_counting.cached_classifier(cache_dir, source, train_and_test, report,
                                         epochs=CLASSIFIER_EPOCHS.get(source, 3))


# Epochs of the mode classifier: 3 passes over 60,000 images (89.0% held out
# on Fashion-MNIST, measured here); the 1,437 training digits need more.
CLASSIFIER_EPOCHS = {"sklearn_digits": 10}


def real_data_floor(config: config_lib.Config, classifier, info: dict, cache_dir,
                    num_samples: int) -> dict:
  """The instrument's score of `num_samples` real images built from held-out
  items (`mode_counting.real_data_floor`), cached beside the classifier."""
  dataset = config.data
  source = dataset.classes
  key = f"{dataset.scorer}:{num_samples}"
  if key not in info.setdefault("floors", {}):
    images, labels = image_data.items(source, "test", config.data_dir or None)
    if not image_data.has_test_split(source):
      _, _, images, labels = mode_counting.held_out_split(images, labels)
    info["floors"][key] = mode_counting.real_data_floor(
        classifier, images, labels, dataset.scorer == "stacked_classes", num_samples)
    mode_counting.save_info(pathlib.Path(cache_dir) / f"{source}_classifier.json", info)
  return info["floors"][key]


class ImageScorer:
  """Scores generated images; metrics keep the same keys at every call.

  `data` (the training set, for FID's real features) is loaded here when
  None and needed; `seed` draws the evaluation noise.
  """

  def __init__(self, config: config_lib.Config, data: image_data.ImageSet,
               workdir, noise_dim: int, report=print, seed: int = EVAL_SEED):
    self.config = config
    self.workdir = pathlib.Path(workdir)
    self.noise_dim = noise_dim
    self.report = report
    self.seed = seed
    self.classifier = None
    dataset = config.data
    self.num_modes = dataset.num_modes
    if dataset.counts_modes:
      self.cache = config.cache_dir or default_cache_dir()
      self.classifier, self.classifier_info = classifier_for(
          dataset.classes, config.data_dir, self.cache, report)
      self.classifier_accuracy = self.classifier_info["test_accuracy"]
      report(f"mode counting: {dataset.classes} classifier with held-out accuracy "
             f"{self.classifier_accuracy:.4f} (cached in {self.cache})")
    self.inception = None
    if config.fid_samples:
      self.inception = self._load_inception(config.inception_weights)
    if self.inception is not None:
      data = data or image_data.load(dataset, config.data_dir, config.image_size)
      rows = np.random.default_rng(EVAL_SEED).choice(
          len(data.images), min(config.fid_samples, len(data.images)), replace=False)
      self.real_features = self.inception(data.images[rows])

  def _load_inception(self, weights):
    try:
      model = image_metrics.inception_model(weights)
    except Exception as e:  # pylint: disable=broad-except
      # Keras raises plain Exception for a failed download.
      self.report(f"FID/KID off: InceptionV3 weights {weights!r} are not "
                  f"available ({first_line(e)}); pass --inception-weights "
                  "PATH to a local inception_v3 'notop' .h5 file")
      return None
    return lambda images: image_metrics.inception_features(images, model=model)

  def images(self, generate, num_samples):
    # 1,000 images per generator call: 50,000 CelebA images would be 2.4 GB.
    images = generators.draw(generate, self.noise_dim, num_samples, self.seed,
                             chunk=1000)
    if images.dtype == np.uint8:  # the export's serving_default
      images = images.astype(np.float32) / 255.0
    return images

  def score(self, images) -> dict:
    metrics = {}
    if self.classifier is not None:
      if self.config.data.scorer == "classes":
        modes = np.argmax(self.classifier.predict(images, batch_size=1000, verbose=0), -1)
      else:  # one digit per channel
        modes = mode_counting.stacked_modes(self.classifier, images)
      metrics.update(mode_counting.mode_statistics(modes, self.num_modes))
      metrics["num_modes"] = self.num_modes
    if self.inception is not None:
      fake = self.inception(images[:self.config.fid_samples])
      metrics["fid"] = image_metrics.fid(self.real_features, fake)
      metrics["kid"], _ = image_metrics.kid(
          self.real_features, fake, subset_size=min(1000, len(fake)))
      metrics["fid_samples"] = len(fake)
      metrics["fid_real_samples"] = len(self.real_features)
    metrics.setdefault("num_samples", len(images))
    return metrics

  def described(self, metrics: dict) -> dict:
    """`metrics` with a line saying how FID and KID were computed (final and
    exported scores: metrics.json and lbt_tf.evaluate; not metrics.csv)."""
    if "fid" in metrics:
      metrics["fid_protocol"] = image_metrics.protocol(
          self.config.inception_weights, metrics["fid_samples"], metrics["fid_real_samples"])
    return metrics

  def sample_count(self, num_samples):
    """Enough samples for every metric in use (and for a grid)."""
    needed = [plots.GRID_SAMPLES]
    if self.classifier is not None:
      needed.append(num_samples)
    if self.inception is not None:
      needed.append(self.config.fid_samples)
    return max(needed)

  def periodic(self, generate, step):
    """Metrics on eval_samples, samples/step-N.png and a TensorBoard image."""
    images = self.images(generate, self.sample_count(self.config.eval_samples))
    grid = plots.image_grid(images[:plots.GRID_SAMPLES], min_side=0)
    tf.summary.image("samples", grid[None])
    folder = self.workdir / "samples"
    folder.mkdir(exist_ok=True)
    plots.save_image_grid(images[:plots.GRID_SAMPLES], folder / f"step-{step:07d}.png")
    return self.score(images)

  def final(self, generate, step):
    """Metrics on final_eval_samples, and samples.png."""
    del step
    images = self.images(generate, self.sample_count(self.config.final_eval_samples))
    plots.save_image_grid(images[:plots.GRID_SAMPLES], self.workdir / "samples.png")
    metrics = self.described(self.score(images))
    if self.classifier is not None:
      metrics.update(self.instrument(metrics["num_samples"]))
    return metrics

  def instrument(self, num_samples) -> dict:
    """The classifier's held-out accuracy and its score of as many real
    images: what the mode counts of `num_samples` samples can resolve."""
    floor = real_data_floor(self.config, self.classifier, self.classifier_info,
                            self.cache, num_samples)
    return {"classifier_accuracy": self.classifier_accuracy,
            "real_modes_covered": floor["modes_covered"],
            "real_kl_to_uniform": floor["kl_to_uniform"]}


def score_export(config: config_lib.Config, exported, num_samples: int,
                 seed: int = EVAL_SEED, mixture=None, report=print) -> dict:
  """An exported generator's metrics (`export.generators.ExportedGenerator`)
  with the noise drawn from `seed` (`lbt_tf.evaluate`, the comparison's
  --rescore-seed). A 2-D generator is scored on `mixture`, by default the
  one `config` describes."""
  if config.data.is_image:
    scorer = ImageScorer(config, None, ".", exported.noise_dim, report=report, seed=seed)
    metrics = scorer.described(scorer.score(scorer.images(exported.generate, num_samples)))
    if scorer.classifier is not None:
      metrics.update(scorer.instrument(metrics["num_samples"]))
    return metrics
  scorer = MixtureScorer(config, mixture or mixtures.of_config(config), ".",
                         exported.noise_dim, seed=seed)
  return scorer.score(scorer.samples(exported.generate, num_samples))


def make_scorer(config: config_lib.Config, data, workdir, noise_dim: int,
                report=print):
  """The scorer for the run's data (a 2-D mixture or an ImageSet)."""
  if isinstance(data, image_data.ImageSet):
    return ImageScorer(config, data, workdir, noise_dim, report)
  return MixtureScorer(config, data, workdir, noise_dim)
