"""Training on images end to end: data, networks, scoring, pictures, export.

The runs train in the test's process (`clitools.run_here`), TFDS's datasets
under `tfds.testing.mock_data` (correctly shaped random examples, nothing
downloaded); one evaluation is a real process."""

import json

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from lbt_tf.export import generators
from lbt_tf import config as config_lib
from lbt_tf.metrics import scoring, mode_counting
from lbt_tf.data import datasets, image_data
from lbt_tf import train_lib
from tests import clitools

# Tiny image runs: seconds, not minutes, on a CPU.
TINY_IMAGES = ["--steps", "4", "--eval-every", "2", "--batch-size", "16",
               "--unroll-steps", "2", "--estimator-units", "64,32",
               "--generator-width", "4", "--discriminator-width", "4",
               "--eval-samples", "300", "--final-eval-samples", "500"]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
  """One classifier cache for the module (training one takes seconds)."""
  return {"LBT_TF_CACHE": str(tmp_path_factory.mktemp("cache"))}


@pytest.fixture(scope="module")
def stacked_digits_run(tmp_path_factory, cache):
  workdir = tmp_path_factory.mktemp("images") / "run"
  result = clitools.run_here("lbt_tf.train", "--dataset", "stacked_digits",
                             "--method", "lbt-gan", "--workdir", workdir,
                             *TINY_IMAGES, env=cache)
  assert result.returncode == 0, result.stderr[-3000:]
  return workdir, result


def test_stacked_digits_run_counts_modes_and_draws_grids(stacked_digits_run):
  workdir, result = stacked_digits_run
  metrics = json.loads((workdir / "metrics.json").read_text())
  assert metrics["num_samples"] == 500 and metrics["num_modes"] == 1000
  assert 1 <= metrics["modes_covered"] <= 500
  assert 0.0 < metrics["kl_to_uniform"] <= np.log(1000) + 1e-9
  assert metrics["classifier_accuracy"] > 0.9
  assert "KL(modes || uniform)" in result.stdout
  rows = (workdir / "metrics.csv").read_text().strip().splitlines()
  assert len(rows) == 3 and "kl_to_uniform" in rows[0]
  assert (workdir / "samples.png").exists() and (workdir / "metrics.png").exists()
  assert sorted(p.name for p in (workdir / "samples").iterdir()) == [
      "step-0000002.png", "step-0000004.png"]
  # the grids are in TensorBoard too
  events = list((workdir / "logs").glob("events.out.tfevents.*"))
  tags = {value.tag for event in tf.compat.v1.train.summary_iterator(str(events[0]))
          for value in event.summary.value}
  assert "samples" in tags and "modes_covered" in tags


def test_exported_image_generator_serves_uint8_images(stacked_digits_run):
  workdir, _ = stacked_digits_run
  model = tf.saved_model.load(str(workdir / "generator" / "1"))
  z = tf.random.normal([5, 100])
  images = model.signatures["serving_default"](z=z)["samples"]
  assert images.dtype == tf.uint8 and images.shape == (5, 8, 8, 3)
  sample = model.signatures["sample"]
  a = sample(num_samples=tf.constant(3), seed=tf.constant(7, tf.int64))["samples"]
  b = sample(num_samples=tf.constant(3), seed=tf.constant(7, tf.int64))["samples"]
  assert a.dtype == tf.uint8 and np.array_equal(a, b)
  metadata = json.loads((workdir / "generator/1/assets" / generators.METADATA_FILE).read_text())
  assert metadata["image_shape"] == [8, 8, 3] and metadata["dataset"] == "stacked_digits"


def test_evaluate_rescores_the_exported_image_generator(stacked_digits_run, cache,
                                                       tmp_path):
  workdir, _ = stacked_digits_run
  own = json.loads((workdir / "metrics.json").read_text())
  same = clitools.run("lbt_tf.evaluate", "--model", workdir / "generator",
                      "--num-samples", "500", env=cache)
  assert same.returncode == 0, same.stderr[-3000:]
  rescored = json.loads(same.stdout)
  # the same noise and the same SavedModel: the training run's own numbers
  assert rescored["modes_covered"] == own["modes_covered"]
  assert rescored["kl_to_uniform"] == pytest.approx(own["kl_to_uniform"])
  other = json.loads(clitools.run_here("lbt_tf.evaluate", "--model", workdir / "generator",
                                       "--num-samples", "500", "--seed", "9",
                                       "--cache-dir", tmp_path / "cache", env=cache).stdout)
  assert other["num_samples"] == 500 and other["kl_to_uniform"] != rescored["kl_to_uniform"]
  assert list((tmp_path / "cache").glob("*.keras"))  # --cache-dir was used


def test_celeb_a_under_mock_data_end_to_end(tmp_path, cache):
  """`--dataset celeb_a --steps 4` with TFDS mock data, at a CPU-sized batch,
  through both phases of LBT-GAN.

  No InceptionV3 weights can be downloaded here: the run says FID is off
  and why, and still finishes."""
  workdir = tmp_path / "celeb_a"
  with tfds.testing.mock_data(num_examples=20):
    result = clitools.run_here(
        "lbt_tf.train", "--dataset", "celeb_a",
        "--steps", "4", "--eval-every", "2", "--batch-size", "8", "--eval-samples", "16",
        # the preset's DCGAN layers at width 4 (its own: G 32, D 64), traced faster
        "--generator-width", "4", "--discriminator-width", "4",
        # two warm-up (GAN) iterations, then two LBT-GAN iterations, with a small VAE
        "--teaching-warmup", "2", "--estimator-units", "64,32", "--latent-dim", "8",
        "--estimator-steps", "1", "--unroll-steps", "1",
        "--final-eval-samples", "16", "--fid-samples", "16",
        "--inception-weights", str(tmp_path / "no-such-weights.h5"),
        "--workdir", workdir, env=cache)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "FID/KID off" in result.stdout
  served = tf.saved_model.load(str(workdir / "generator/1")).signatures[
      "serving_default"](z=tf.random.normal([2, 100]))["samples"]
  assert served.dtype == tf.uint8 and served.shape == (2, 64, 64, 3)
  assert (workdir / "samples.png").exists()


def test_mnist_under_mock_data_counts_ten_modes(tmp_path):
  """The MNIST path: TFDS (mock) data, a classifier trained on it, 10 modes."""
  workdir = tmp_path / "mnist"
  with tfds.testing.mock_data(num_examples=40):
    result = clitools.run_here(
        "lbt_tf.train", "--dataset", "mnist",
        "--method", "gan", "--workdir", workdir, *TINY_IMAGES,
        env={"LBT_TF_CACHE": str(tmp_path / "cache")})
  assert result.returncode == 0, result.stderr[-3000:]
  metrics = json.loads((workdir / "metrics.json").read_text())
  assert metrics["num_modes"] == 10 and 1 <= metrics["modes_covered"] <= 10
  assert (tmp_path / "cache" / "mnist_classifier.keras").exists()
  noise_dim = json.loads((workdir / "config.json").read_text())["noise_dim"]
  served = tf.saved_model.load(str(workdir / "generator/1")).signatures[
      "serving_default"](z=tf.random.normal([2, noise_dim]))["samples"]
  assert served.dtype == tf.uint8 and served.shape == (2, 28, 28, 1)


def test_scorer_on_real_stacked_digits_and_on_a_collapsed_generator(tmp_path, monkeypatch,
                                                                 cache):
  """Known answers: the data itself covers the 1,000 modes nearly uniformly;
  a generator that always draws the same image covers 1, KL = log 1000."""
  monkeypatch.setenv("LBT_TF_CACHE", cache["LBT_TF_CACHE"])  # the module's classifier
  config = config_lib.make_config("stacked_digits", {"eval_samples": 26000})
  data = image_data.ImageSet("stacked_digits", *image_data.stack_digits(
      *image_data.sklearn_digits(), 26000, seed=5))
  scorer = scoring.ImageScorer(config, data, tmp_path, config.noise_dim,
                               report=lambda _: None)
  real = scorer.score(data.images.astype(np.float32) / 255.0)
  assert real["modes_covered"] >= 995
  floor = mode_counting.uniform_kl_floor(26000)
  assert real["kl_to_uniform"] < floor + 0.1  # classifier errors add a little
  collapsed = scorer.final(lambda z: np.repeat(data.images[:1], len(z), 0), step=0)
  assert collapsed["modes_covered"] == 1
  assert collapsed["kl_to_uniform"] == pytest.approx(np.log(1000))
  assert (tmp_path / "samples.png").exists()


def test_image_batches_depend_only_on_seed_and_step():
  images = np.arange(50, dtype=np.uint8).reshape(50, 1, 1, 1) * np.ones((1, 2, 2, 3), np.uint8)
  data = image_data.ImageSet("toy", images, np.arange(50))
  first = data.tf_sample(200, tf.constant([3, 7], tf.int64))
  again = data.tf_sample(200, tf.constant([3, 7], tf.int64))
  other = data.tf_sample(200, tf.constant([3, 8], tf.int64))
  np.testing.assert_array_equal(first, again)
  assert not np.array_equal(first, other)
  values = np.unique(np.round(first.numpy()[:, 0, 0, 0] * 255))
  assert set(values) <= set(range(50)) and len(values) > 40  # drawn from all of it


def test_image_networks_for_every_image_method():
  for method, d_channels in (("gan", 3), ("pacgan", 6), ("unrolled-gan", 3), ("brc-gan", 3),
                             ("vgan", 3), ("lbt", None), ("lbt-gan", 3)):
    config = config_lib.make_config("stacked_digits", {
        "method": method, "pack": 2, "estimator_units": (16,)})
    trainer = train_lib.build_trainer(config)
    assert tuple(trainer.generator.output.shape) == (None, 8, 8, 3)
    if d_channels:
      assert tuple(trainer.discriminator.input.shape) == (None, 8, 8, d_channels)
    if method == "vgan":
      assert tuple(trainer.discriminator.output.shape) == (None, config.energy_units)
  # ALI: an encoder to (mu, log sigma) and D on (image, code) pairs
  trainer = train_lib.build_trainer(config_lib.make_config("stacked_digits", {"method": "ali"}))
  assert tuple(trainer.encoder.output.shape) == (None, 2 * 100)
  assert [tuple(x.shape) for x in trainer.discriminator.inputs] == [(None, 8, 8, 3), (None, 100)]


def test_image_settings_fail_with_one_clear_line():
  with pytest.raises(ValueError, match="2-D mixtures only"):
    train_lib.check(config_lib.make_config("stacked_digits", {"method": "veegan"}))
  with pytest.raises(ValueError, match="models 2-D points only; on images choose vae, iwae or kde"):
    train_lib.check(config_lib.make_config("stacked_digits", {"estimator": "flow"}))
  with pytest.raises(ValueError, match=r"--estimator kde on stacked_digits needs --bandwidth "
                     r"\(each pixel's kernel std.*python -m lbt_tf.smoothing"):
    config_lib.make_config("stacked_digits", {"estimator": "kde"})
  with pytest.raises(ValueError, match=r"--teaching-warmup \(500\) is not below --steps "
                     r"\(500\): the run would end before LBT-GAN teaches"):
    config_lib.make_config("stacked_fashion_mnist", {"steps": 500, "estimator": "vae"})
  with pytest.raises(ValueError, match="unknown dataset 'celeba'.*folder:PATH"):
    config_lib.make_config("celeba", {})
  with pytest.raises(ValueError, match="8x8"):
    config_lib.make_config("stacked_digits", {"image_size": 32})
  with pytest.raises(ValueError, match="folder:PATH or --data-dir"):
    image_data.load(datasets.get("folder"))


def test_folder_dataset_name_and_short_runs():
  config = config_lib.make_config("folder:/data/img_align_celeba",
                                  {"steps": 2, "method": "gan"})
  assert config.dataset == "folder" and config.data_dir == "/data/img_align_celeba"
  assert (config.eval_period, config.checkpoint_period, config.execution_steps) == (2, 2, 2)
  assert config.eval_every == 5000  # the preset's, kept: a longer run uses it
  # given periods are kept, and a mismatch is still an error
  with pytest.raises(ValueError, match="multiple of --eval-every"):
    config_lib.make_config("ring", {"steps": 30, "eval_every": 20})
