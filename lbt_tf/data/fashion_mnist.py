"""Fashion-MNIST from its original files (IDX format, gzip), read locally.

Fashion-MNIST (Xiao et al. 2017, arXiv 1708.07747): 60,000 training and
10,000 test images of clothing, 28x28 grayscale, 10 classes. The only real
image set on machines that reach no download server: Debian's package
`dataset-fashion-mnist` installs the original files in `DEFAULT_DIR`

  train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
  t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz

(`--data-dir` points at another folder holding the same four files, gzipped
or not). IDX (LeCun's MNIST format): a big-endian magic number 0x00000803
(images, uint8, 3 dimensions) or 0x00000801 (labels, uint8, 1 dimension),
then each dimension as a big-endian uint32, then the bytes.
"""

import gzip
import pathlib

import numpy as np

DEFAULT_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")
PACKAGE = "dataset-fashion-mnist"
SPLITS = {"train": "train", "test": "t10k"}
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
           "Shirt", "Sneaker", "Bag", "Ankle boot")
_UINT8 = 0x08


class FilesMissing(ValueError):
  """The files are not where we looked; the message says how to get them."""


def read_idx(path) -> np.ndarray:
  """The uint8 array in the IDX file `path` (gzip or not).

  Raises ValueError (one line, naming the file) if it is not an IDX file of
  unsigned bytes or is shorter than its header says.
  """
  path = pathlib.Path(path)
  raw = path.read_bytes()
  if raw[:2] == b"\x1f\x8b":
    try:
      raw = gzip.decompress(raw)
    except (OSError, EOFError) as e:
      raise ValueError(f"{path} is not a readable gzip file ({e})") from None
  if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _UINT8 or not 1 <= raw[3] <= 4:
    raise ValueError(f"{path} is not an IDX file of unsigned bytes "
                     f"(magic {raw[:4].hex() or 'missing'}, expected 0000080N)")
  ndim = raw[3]
  header = 4 + 4 * ndim
  shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
  size = int(np.prod(shape))
  if len(raw) < header + size:
    raise ValueError(f"{path} is truncated: its header says {shape} "
                     f"({size:,} bytes) but it holds {len(raw) - header:,}")
  return np.frombuffer(raw, np.uint8, size, header).reshape(shape)


def _file(folder: pathlib.Path, stem: str) -> pathlib.Path:
  for name in (f"{stem}.gz", stem):
    if (folder / name).exists():
      return folder / name
  raise FilesMissing(
      f"Fashion-MNIST is not in {folder} (no {stem}.gz): install it with "
      f"`apt-get install -y {PACKAGE}` (files in {DEFAULT_DIR}), or pass "
      "--data-dir DIR holding the four original IDX files")


def load(split: str = "train", data_dir=None):
  """(images [n, 28, 28] uint8, labels [n] int64) of `split` ("train": 60,000,
  "test": 10,000) from `data_dir` (default `DEFAULT_DIR`).

  Raises FilesMissing or ValueError with one line that says what to do.
  """
  folder = pathlib.Path(data_dir) if data_dir else DEFAULT_DIR
  prefix = SPLITS[split]
  images = read_idx(_file(folder, f"{prefix}-images-idx3-ubyte"))
  labels = read_idx(_file(folder, f"{prefix}-labels-idx1-ubyte"))
  if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
    raise ValueError(f"Fashion-MNIST {split} files in {folder} do not match: "
                     f"images {images.shape}, labels {labels.shape}")
  if labels.size and labels.max() >= len(CLASSES):
    raise ValueError(f"Fashion-MNIST {split} labels in {folder} go up to "
                     f"{labels.max()}; expected 0..9")
  return images, labels.astype(np.int64)
