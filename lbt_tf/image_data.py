"""Image datasets: TFDS (mnist, cifar10, celeb_a), stacked digits, folders.

Every loader returns a `tf.data.Dataset` of (image, label) with float32
images in [0, 1] of shape [size, size, channels]; label is -1 where the data
has none. `load` gathers a training set into memory as an `ImageSet`, which
draws seeded batches like a 2-D mixture does (`tf_sample`). Stacked MNIST and its offline twin, stacked digits, put three
random digits into the three colour channels: 1,000 modes, label
100 * d_red + 10 * d_green + d_blue, built deterministically from a seed.
"""

import dataclasses
import pathlib

import numpy as np
import tensorflow as tf

TFDS_DATASETS = ("mnist", "cifar10", "celeb_a")
STACKED_DATASETS = ("stacked_mnist", "stacked_digits")
FOLDER = "folder"  # --dataset folder:PATH
DATASETS = TFDS_DATASETS + STACKED_DATASETS + (FOLDER,)
NATIVE_SIZES = {"mnist": 28, "stacked_mnist": 28, "stacked_digits": 8}  # fixed
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
STACKED_IMAGES = 128_000  # the paper's training set size


def image_shape(name: str, image_size: int = 0):
  """(height, width, channels) of the images `load(name, ..., image_size)` gives."""
  channels = 1 if name == "mnist" else 3
  size = NATIVE_SIZES.get(name) or image_size or (32 if name == "cifar10" else 64)
  return (size, size, channels)


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


def sklearn_digits():
  """scikit-learn's bundled 1,797 8x8 digits as uint8 [n, 8, 8] and labels."""
  from sklearn.datasets import load_digits  # pylint: disable=g-import-not-at-top
  digits = load_digits()
  images = np.round(digits.images / 16.0 * 255).astype(np.uint8)
  return images, digits.target.astype(np.int64)


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
                image_size=None, download: bool = True) -> tf.data.Dataset:
  """A TFDS image dataset; celeb_a is centre-cropped to image_size (64)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  try:
    dataset = tfds.load(name, split=split, data_dir=data_dir, download=download,
                        shuffle_files=False)
  except Exception as e:  # pylint: disable=broad-except
    # TFDS raises many kinds (AssertionError, DatasetNotFoundError, network
    # and checksum errors): all mean "not available here".
    raise DatasetUnavailable(unavailable_message(name, data_dir, e)) from None
  if name == "celeb_a":
    size = image_size or 64
    return dataset.map(lambda ex: (center_crop_and_resize(ex["image"], size),
                                   tf.constant(-1, tf.int64)))
  dataset = dataset.map(lambda ex: (ex["image"], ex["label"]))
  dataset = dataset.map(_as_float)
  if image_size:
    dataset = dataset.map(lambda x, y: (tf.image.resize(x, (image_size, image_size)), y))
  return dataset


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


def folder_images(path, image_size: int = 64) -> tf.data.Dataset:
  """Every image file under `path` (sorted), centre-cropped to image_size."""
  folder = pathlib.Path(path)
  if not folder.is_dir():
    raise DatasetUnavailable(f"image folder {folder} does not exist")
  files = sorted(str(f) for f in folder.rglob("*")
                 if f.suffix.lower() in IMAGE_EXTENSIONS)
  if not files:
    raise DatasetUnavailable(f"image folder {folder} holds no images "
                             f"({', '.join(IMAGE_EXTENSIONS)})")

  def load(file):
    image = tf.io.decode_image(tf.io.read_file(file), channels=3,
                               expand_animations=False)
    return center_crop_and_resize(image, image_size), tf.constant(-1, tf.int64)

  return tf.data.Dataset.from_tensor_slices(files).map(load)


def stacked_images(name: str, num_images: int = STACKED_IMAGES, seed: int = 0,
                   data_dir=None) -> tf.data.Dataset:
  """stacked_digits (scikit-learn's 8x8 digits, offline) or stacked_mnist."""
  if name == "stacked_digits":
    images, labels = sklearn_digits()
  else:
    import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
    mnist = tfds_images("mnist", data_dir=data_dir).map(
        lambda x, y: (tf.cast(tf.round(x[..., 0] * 255), tf.uint8), y))
    images, labels = (np.asarray(a) for a in zip(*tfds.as_numpy(mnist)))
  stacked, modes = stack_digits(images, labels, num_images, seed)
  return tf.data.Dataset.from_tensor_slices((stacked, modes)).map(_as_float)


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
  return np.concatenate(images), np.concatenate(labels).astype(np.int64)


def load(name: str, data_dir: str = "", image_size: int = 0) -> ImageSet:
  """The training set of an image dataset (see DATASETS), in memory.

  data_dir: the TFDS data directory, or the folder of images for `folder`;
  image_size: for cifar10, celeb_a and folders (0: 64, cifar10 its own 32).
  """
  if name not in DATASETS:
    raise ValueError(f"unknown image dataset {name!r}; choose from "
                     f"{', '.join(DATASETS)} (folder as folder:PATH)")
  native = NATIVE_SIZES.get(name)
  if native and image_size not in (0, native):
    raise ValueError(f"{name} images are {native}x{native}; leave --image-size unset")
  if name == FOLDER:
    if not data_dir:
      raise ValueError("--dataset folder needs the images: --dataset "
                       "folder:PATH or --data-dir PATH")
    dataset = folder_images(data_dir, image_size or 64)
  elif name in STACKED_DATASETS:
    # The dataset does not depend on the run's seed: every run, method and
    # seed trains on the same 128,000 images.
    dataset = stacked_images(name, seed=0, data_dir=data_dir or None)
  else:
    dataset = tfds_images(name, data_dir=data_dir or None,
                          image_size=image_size or None)
  images, labels = to_arrays(dataset)
  return ImageSet(name, images, labels)
