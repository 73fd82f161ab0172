"""Real images: Fashion-MNIST from its original files (`.ci/run` installs
Debian's dataset-fashion-mnist), its stacked 1,000-mode version, the mode
classifier and the instrument's floor, and GAN / LBT-GAN trained on the
real pixels (stacked, and the 10-mode set)."""

import gzip
import json

import numpy as np
import pytest

from lbt_tf import config as config_lib, smoothing
from lbt_tf.data import datasets, fashion_mnist, image_data
from lbt_tf.metrics import mode_counting, scoring
from tests import clitools

INSTALLED = (fashion_mnist.DEFAULT_DIR / "train-images-idx3-ubyte.gz").exists()
pytestmark_real = pytest.mark.skipif(
    not INSTALLED, reason="run `apt-get install -y dataset-fashion-mnist` (.ci/run does)")


def write_idx(path, array: np.ndarray, zipped: bool = True):
  header = bytes([0, 0, 8, array.ndim]) + b"".join(
      int(n).to_bytes(4, "big") for n in array.shape)
  raw = header + array.astype(np.uint8).tobytes()
  path.write_bytes(gzip.compress(raw) if zipped else raw)


def fake_files(folder, n=12, zipped=True):
  rng = np.random.default_rng(0)
  images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
  labels = np.arange(n) % 10
  for prefix in ("train", "t10k"):
    suffix = ".gz" if zipped else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", images, zipped)
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, zipped)
  return images, labels


@pytest.mark.parametrize("zipped", [True, False])
def test_the_idx_reader_reads_what_was_written(tmp_path, zipped):
  images, labels = fake_files(tmp_path, zipped=zipped)
  got_images, got_labels = fashion_mnist.load("test", tmp_path)
  np.testing.assert_array_equal(got_images, images)
  np.testing.assert_array_equal(got_labels, labels)
  assert got_labels.dtype == np.int64


@pytest.mark.parametrize("damage, message", [
    (lambda raw: b"\x00\x00\x09\x03" + raw[4:], "not an IDX file of unsigned bytes"),
    (lambda raw: raw[:-10], "is truncated"),
    (lambda raw: b"", "not an IDX file"),
])
def test_a_damaged_idx_file_is_named_in_one_line(tmp_path, damage, message):
  fake_files(tmp_path, zipped=False)
  path = tmp_path / "train-images-idx3-ubyte"
  path.write_bytes(damage(path.read_bytes()))
  with pytest.raises(ValueError, match=message) as error:
    fashion_mnist.load("train", tmp_path)
  assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_missing_files_say_which_package_and_flag(tmp_path):
  """The command line refuses in one line, before anything is written."""
  workdir = tmp_path / "run"
  result = clitools.run_here("lbt_tf.train", "--dataset", "stacked_fashion_mnist",
                             "--method", "gan", "--data-dir", tmp_path / "nowhere",
                             "--workdir", workdir)
  assert result.returncode != 0
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1, result.stderr
  assert "apt-get install -y dataset-fashion-mnist" in lines[0] and "--data-dir" in lines[0]
  assert not workdir.exists() or not (workdir / "config.json").exists()


@pytestmark_real
def test_the_installed_files_are_the_original_fashion_mnist():
  train_images, train_labels = fashion_mnist.load("train")
  test_images, test_labels = fashion_mnist.load("test")
  assert train_images.shape == (60_000, 28, 28) and test_images.shape == (10_000, 28, 28)
  # Fashion-MNIST is balanced: 6,000 and 1,000 items of each class.
  assert np.bincount(train_labels).tolist() == [6000] * 10
  assert np.bincount(test_labels).tolist() == [1000] * 10
  assert 70 < train_images.mean() < 75  # its mean grey level is 72.9


@pytestmark_real
def test_stacked_fashion_mnist_is_the_stacked_mnist_recipe():
  dataset = datasets.get("stacked_fashion_mnist")
  assert dataset.num_modes == 1000 and dataset.example_shape() == (28, 28, 3)
  data = image_data.load(dataset)
  assert data.images.shape == (image_data.STACKED_IMAGES, 28, 28, 3)
  assert len(np.unique(data.labels)) == 1000
  items, labels = fashion_mnist.load("train")
  # Each channel is one training item; the label is the three classes.
  rng = np.random.default_rng(0)
  for row in rng.integers(len(data.images), size=20):
    classes = []
    for channel in range(3):
      match = np.flatnonzero((items == data.images[row, :, :, channel]).all(axis=(1, 2)))
      assert len(match) >= 1
      classes.append(labels[match[0]])
    assert data.labels[row] == 100 * classes[0] + 10 * classes[1] + classes[2]
  # built from a fixed seed, whatever the run's: the recipe's own draws
  # (`stack_digits` with seed 0), pixel for pixel
  recipe_images, recipe_labels = image_data.stack_digits(
      items, labels, image_data.STACKED_IMAGES, seed=0)
  np.testing.assert_array_equal(data.images, recipe_images)
  np.testing.assert_array_equal(data.labels, recipe_labels)


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
  """One classifier cache for the module: training it takes a minute."""
  return tmp_path_factory.mktemp("cache")


@pytestmark_real
def test_the_classifier_and_the_instrument_floor(cache):
  """Held-out accuracy of the package's classifier (trained on the 60,000
  training items, scored on the 10,000 test items) and what it gives 26,000
  real stacked test images: every mode, with a KL near finite sampling's."""
  config = config_lib.make_config("stacked_fashion_mnist", {"cache_dir": str(cache)})
  classifier, info = scoring.classifier_for("fashion_mnist", "", cache, lambda _: None)
  assert info["test_accuracy"] > 0.86 and info["test_images"] == 10_000
  floor = scoring.real_data_floor(config, classifier, info, cache, 26_000)
  assert floor["modes_covered"] == 1000
  assert mode_counting.uniform_kl_floor(26_000) < floor["kl_to_uniform"] < 0.1
  # Cached, with the floor: neither is computed again.
  stored = json.loads((cache / "fashion_mnist_classifier.json").read_text())
  assert stored["floors"]["stacked_classes:26000"] == floor
  _, again = scoring.classifier_for("fashion_mnist", "", cache,
                                    lambda _: pytest.fail("retrained"))
  assert again["test_accuracy"] == info["test_accuracy"]


TINY = ["--steps", "20", "--eval-every", "10", "--batch-size", "16",
        "--eval-samples", "500", "--final-eval-samples", "1000"]


@pytestmark_real
@pytest.mark.parametrize("dataset, method, extra", [
    ("stacked_fashion_mnist", "gan", []),
    # The authors' schedule in small: GAN iterations, then LBT-GAN with a
    # small VAE, M = K = 1 (the preset's 1000-400 VAE with M = 15, K = 5
    # traces for minutes; M and K > 1 are tested on the ring and stacked digits).
    ("stacked_fashion_mnist", "lbt-gan",
     ["--estimator", "vae", "--teaching-warmup", "10", "--estimator-units", "64,32", "--latent-dim", "8",
      "--estimator-steps", "1", "--unroll-steps", "1"]),
    # The kernel teacher on flattened pixels, its bandwidth annealed.
    ("stacked_fashion_mnist", "lbt-gan",
     ["--teaching-warmup", "10", "--estimator", "kde", "--bandwidth", "6",
      "--final-bandwidth", "1", "--anneal-steps", "20", "--unroll-steps", "2"]),
    # The 10-mode set: single items, counted by the same classifier.
    ("fashion_mnist", "gan", []),
])
def test_training_on_real_fashion_mnist_pixels(tmp_path, cache, dataset, method, extra):
  workdir = tmp_path / "run"
  result = clitools.run_here("lbt_tf.train", "--dataset", dataset,
                             "--method", method, "--workdir", workdir, *TINY, *extra,
                             env={"LBT_TF_CACHE": str(cache)})
  assert result.returncode == 0, result.stderr[-3000:]
  metrics = json.loads((workdir / "metrics.json").read_text())
  modes = datasets.get(dataset).num_modes
  assert metrics["step"] == 20 and metrics["num_samples"] == 1000
  assert metrics["num_modes"] == modes and 1 <= metrics["modes_covered"] <= modes
  assert metrics["classifier_accuracy"] > 0.86
  # the instrument's floor at the same sample count, beside the result
  if modes == 1000:
    assert metrics["real_modes_covered"] > 500 and metrics["real_kl_to_uniform"] < 1.0
  else:  # 1,000 test items cover the 10 classes, nearly evenly
    assert metrics["real_modes_covered"] == 10 and metrics["real_kl_to_uniform"] < 0.05
  assert "real data" in result.stdout
  rows = (workdir / "metrics.csv").read_text().strip().splitlines()
  header = rows[0].split(",")
  warm, taught = (dict(zip(header, row.split(","))) for row in rows[1:3])
  if method == "lbt-gan":
    assert float(warm["f_G"]) == 0.0  # no teaching during the warm-up
    assert float(taught["f_G"]) != 0.0
  else:
    assert "f_G" not in header and float(taught["d_loss"]) != float(warm["d_loss"])


@pytestmark_real
def test_image_bandwidths_are_read_off_the_datas_distances():
  """`python -m lbt_tf.smoothing`: the coarse bandwidth (most centres share
  a real image's pull) above the fine one (the nearest weighs e x the
  next); uint8 pixels read as [0, 1] floats."""
  result = clitools.run_here("lbt_tf.smoothing", "--dataset", "fashion_mnist")
  assert result.returncode == 0, result.stderr[-2000:]
  line = result.stdout.strip().splitlines()[-1]
  assert line.startswith("fashion_mnist: 512 real images against 2560 others")  # the preset's
  pixels, _ = fashion_mnist.load("train")
  scales = smoothing.image_scales(pixels[:2000])
  assert scales == pytest.approx(smoothing.image_scales(pixels[:2000] / 255.0))
  assert 0 < scales["fine"] < scales["coarse"] and scales["nearest"] > 0
  assert f"--bandwidth {smoothing.image_scales(pixels, 2560, 512)['coarse']:.2f}" in line
