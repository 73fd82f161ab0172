"""Image datasets by source (see `datasets`): TFDS, folders, local files,
stacked items.

Every loader returns a `tf.data.Dataset` of (image, label) with float32
images in [0, 1] of shape [size, size, channels]; label is -1 where the data
has none. `load` gathers a training set into memory as an `ImageSet`, which
draws seeded batches like a 2-D mixture does (`tf_sample`). Stacked MNIST
and its twins (stacked Fashion-MNIST, stacked 8x8 digits) put three random
single-channel items into the three colour channels: 1,000 modes, label
100 * c_red + 10 * c_green + c_blue, built deterministically from a seed.

Single-channel, 10-class items by name (`items`): "mnist" (TFDS),
"fashion_mnist" (the original files, read locally: `fashion_mnist`),
"sklearn_digits" (scikit-learn's bundled 8x8 digits: one set, no test split).
"""

import dataclasses
import pathlib

import numpy as np
import tensorflow as tf

from lbt_tf.data import fashion_mnist

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
STACKED_IMAGES = 128_000  # the paper's training set size


class DatasetUnavailable(ValueError):
  """The data is neither here nor downloadable; the message says what to do."""


def stack_digits(images: np.ndarray, labels: np.ndarray, num_images: int,
                 seed: int):
  """Three digits per image, one per channel, drawn with `seed`.

  images: [n, h, w] uint8 grayscale digits; labels: [n] in 0..9.
  Returns ([num_images, h, w, 3] uint8, [num_images] labels in 0..999).
  """
  rng = np.random.default_rng(seed)
  picks = rng.integers(len(images), size=(num_images, 3))
  stacked = np.stack([images[picks[:, c]] for c in range(3)], axis=-1)
  mode = 100 * labels[picks[:, 0]] + 10 * labels[picks[:, 1]] + labels[picks[:, 2]]
  return stacked, mode.astype(np.int64)


# scikit-learn's bundled copy of the UCI optical digits test set (Alpaydin &
# Kaynak 1998; 1,797 8x8 images, pixels 0..16, then the label, one row each),
# shipped with this package: scikit-learn is not a dependency because Keras
# imports it at start-up whenever it is installed (a fifth of every command
# line's start-up here). File: sklearn/datasets/data/digits.csv.gz, BSD-3.
DIGITS_FILE = pathlib.Path(__file__).with_name("digits.csv.gz")


def sklearn_digits():
  """scikit-learn's bundled 1,797 8x8 digits (`sklearn.datasets.load_digits`)
  as uint8 [n, 8, 8] (0..16 scaled to 0..255) and int64 labels [n]."""
  rows = np.loadtxt(DIGITS_FILE, delimiter=",", dtype=np.float64)
  images = np.round(rows[:, :64].reshape(-1, 8, 8) / 16.0 * 255).astype(np.uint8)
  return images, rows[:, 64].astype(np.int64)


def center_crop_and_resize(image, size: int):
  """The largest centred square, resized to size x size (float, [0, 1])."""
  shape = tf.shape(image)
  side = tf.minimum(shape[0], shape[1])
  top, left = (shape[0] - side) // 2, (shape[1] - side) // 2
  square = image[top:top + side, left:left + side]
  return tf.image.resize(tf.image.convert_image_dtype(square, tf.float32),
                         (size, size), antialias=True)


def _as_float(image, label):
  return tf.image.convert_image_dtype(image, tf.float32), label


def tfds_images(name: str, split: str = "train", data_dir=None,
                image_size=None, centre_crop: bool = False,
                download: bool = True) -> tf.data.Dataset:
  """A TFDS image dataset (its "image" feature, and "label" if it has one),
  as floats in [0, 1]; centre-cropped and/or resized to image_size."""
  from lbt_tf.data import tfds_download  # pylint: disable=g-import-not-at-top
  try:  # offline, a download fails at once (tfds_download.Offline)
    dataset = tfds_download.load(name, split, data_dir, download)
  except Exception as e:  # pylint: disable=broad-except
    # TFDS raises many kinds (AssertionError, DatasetNotFoundError, network
    # and checksum errors): all mean "not available here".
    raise DatasetUnavailable(unavailable_message(name, data_dir, e)) from None

  def example(ex):
    label = ex["label"] if "label" in ex else tf.constant(-1, tf.int64)
    if centre_crop:
      return center_crop_and_resize(ex["image"], image_size), label
    image = tf.image.convert_image_dtype(ex["image"], tf.float32)
    if image_size:
      image = tf.image.resize(image, (image_size, image_size))
    return image, label

  return dataset.map(example)


def unavailable_message(name, data_dir, error) -> str:
  first = str(error).strip().splitlines()[0][:200] if str(error).strip() else type(error).__name__
  where = data_dir or "~/tensorflow_datasets"
  advice = (f"download it once where there is internet (python -c \"import "
            f"tensorflow_datasets as tfds; tfds.load('{name}')\") and copy "
            f"{where}/{name} here, or pass --data-dir")
  if name == "celeb_a":
    advice = (f"put the CelebA files in {where}/downloads/manual/ (TFDS's "
              "manual download), or train on the images themselves with "
              "--dataset folder:PATH/img_align_celeba")
  return f"dataset {name} is not available ({first}); {advice}"


def image_files(path) -> list:
  """Every image file under `path`, sorted; one-line errors if there are none."""
  folder = pathlib.Path(path)
  if not folder.is_dir():
    raise DatasetUnavailable(f"image folder {folder} does not exist")
  files = sorted(str(f) for f in folder.rglob("*")
                 if f.suffix.lower() in IMAGE_EXTENSIONS)
  if not files:
    raise DatasetUnavailable(f"image folder {folder} holds no images "
                             f"({', '.join(IMAGE_EXTENSIONS)})")
  return files


def folder_images(path, image_size: int = 64) -> tf.data.Dataset:
  """Every image file under `path` (sorted), centre-cropped to image_size,
  labelled with its index in `image_files(path)`. A file that cannot be
  decoded is left out (`load` names it)."""
  def load(index, file):
    image = tf.io.decode_image(tf.io.read_file(file), channels=3,
                               expand_animations=False)
    return center_crop_and_resize(image, image_size), index

  files = image_files(path)
  return (tf.data.Dataset.from_tensor_slices((tf.range(len(files), dtype=tf.int64), files))
          .map(load).ignore_errors())


def read_folder(path, image_size: int, report=print):
  """(uint8 images, labels -1) of a folder; unreadable files are skipped and
  named."""
  files = image_files(path)
  pixels, indices = to_arrays(folder_images(path, image_size))
  skipped = sorted(set(range(len(files))) - set(indices.tolist()))
  if len(skipped) == len(files):
    raise DatasetUnavailable(f"no image in {path} could be read (e.g. {files[0]})")
  if skipped:
    names = ", ".join(pathlib.Path(files[i]).name for i in skipped[:5])
    report(f"skipped {len(skipped)} unreadable image file(s) in {path}: {names}"
           + (", ..." if len(skipped) > 5 else ""))
  return pixels, np.full(len(pixels), -1, np.int64)


ITEM_SOURCES = ("mnist", "fashion_mnist", "sklearn_digits")


def items(source: str, split: str = "train", data_dir=None):
  """Single-channel items of one of 10 classes, as uint8 [n, h, w] and int64
  labels: `source` in ITEM_SOURCES, `split` "train" or "test"
  (sklearn_digits has one set of 1,797 images, whatever the split: callers
  that need held-out images split it themselves, see `has_test_split`)."""
  if source == "sklearn_digits":
    return sklearn_digits()
  if source == "fashion_mnist":
    try:
      return fashion_mnist.load(split, data_dir)
    except fashion_mnist.FilesMissing as e:
      raise DatasetUnavailable(str(e)) from None
  if source == "mnist":
    images, labels = to_arrays(tfds_images(source, split=split, data_dir=data_dir))
    return images[..., 0], labels
  raise ValueError(f"unknown item source {source!r}; choose from {', '.join(ITEM_SOURCES)}")


def has_test_split(source: str) -> bool:
  return source != "sklearn_digits"


def stacked_images(source: str, num_images: int = STACKED_IMAGES, seed: int = 0,
                   data_dir=None, split: str = "train") -> tf.data.Dataset:
  """Three items of `source` (see `items`) per image, one per channel."""
  return tf.data.Dataset.from_tensor_slices(
      stacked_arrays(source, num_images, seed, data_dir, split)).map(_as_float)


def stacked_arrays(source: str, num_images: int = STACKED_IMAGES, seed: int = 0,
                   data_dir=None, split: str = "train"):
  """`stacked_images` as uint8 [num_images, h, w, 3] and int64 modes."""
  return stack_digits(*items(source, split, data_dir), num_images, seed)


@dataclasses.dataclass
class ImageSet:
  """A training set held in memory as uint8 (CelebA at 64x64: 2.5 GB).

  `tf_sample(n, seed)` draws n images uniformly with replacement, the same
  ones for the same seed, so batch i of a run depends only on (seed, i) and a
  resumed run sees what an uninterrupted one would have.
  """

  name: str
  images: np.ndarray  # [n, height, width, channels] uint8
  labels: np.ndarray  # [n] int64: digit, stacked mode (0..999), or -1

  def __post_init__(self):
    # A variable, not a constant: graphs cannot hold constants over 2 GB.
    with tf.device("/CPU:0"):
      self._pixels = tf.Variable(self.images, trainable=False, name="images")

  @property
  def shape(self):
    return tuple(self.images.shape[1:])

  def tf_sample(self, n: int, seed) -> tf.Tensor:
    """n images as float32 in [0, 1]; `seed` is a [2] int tensor."""
    rows = tf.random.stateless_uniform([n], seed, maxval=len(self.images),
                                       dtype=tf.int64)
    return tf.cast(tf.gather(self._pixels, rows), tf.float32) / 255.0


def to_arrays(dataset: tf.data.Dataset):
  """(uint8 images, int64 labels) of a dataset of ([0, 1] image, label)."""
  as_bytes = dataset.map(
      lambda x, y: (tf.cast(tf.round(x * 255.0), tf.uint8), y),
      num_parallel_calls=tf.data.AUTOTUNE).batch(4096)
  images, labels = [], []
  for x, y in as_bytes.as_numpy_iterator():
    images.append(x)
    labels.append(y)
  if not images:
    return np.zeros((0,), np.uint8), np.zeros((0,), np.int64)
  return np.concatenate(images), np.concatenate(labels).astype(np.int64)


def load(dataset, data_dir: str = "", image_size: int = 0, report=print) -> ImageSet:
  """The training set of an image dataset (a `datasets.Dataset`), in memory.

  data_dir: the TFDS data directory, or the folder of images for a folder
  dataset; image_size: for resizable datasets (0: the dataset's own).
  """
  size = dataset.image_size(image_size)
  kind, _, name = dataset.source.partition(":")
  if kind == "folder":
    if not data_dir:
      raise ValueError("--dataset folder needs the images: --dataset "
                       "folder:PATH or --data-dir PATH")
    return ImageSet(dataset.name, *read_folder(data_dir, size, report))
  elif kind == "stacked":
    # The dataset does not depend on the run's seed: every run, method and
    # seed trains on the same 128,000 images. Kept as the recipe's uint8
    # arrays (through tf.data and back would cost seconds, for nothing).
    return ImageSet(dataset.name, *stacked_arrays(name, seed=0, data_dir=data_dir or None))
  elif kind == "items":  # a single-channel set read by `items`, its training split
    pixels, labels = items(name, "train", data_dir or None)
    return ImageSet(dataset.name, pixels[..., None], labels)
  elif kind == "tfds":
    resize = size if (dataset.crop == "centre" or size != dataset.size) else None
    images = tfds_images(name, data_dir=data_dir or None, image_size=resize,
                         centre_crop=dataset.crop == "centre")
  else:
    raise ValueError(f"dataset {dataset.name}: unknown image source {dataset.source!r}")
  pixels, labels = to_arrays(images)
  return ImageSet(dataset.name, pixels, labels)
