"""What each dataset is, read from its preset's "data" block: one list of
datasets, and a new dataset is one preset file.

  {"kind": "mixture"}                      a 2-D Gaussian mixture; its layout,
                                           modes, radius, spacing and std are
                                           run settings (--layout, --std, ...)
  {"kind": "image", "source": S, "channels": C, "size": N,
   "resizable": bool, "crop": "centre"|"none", "scorer": R, "classes": D}

Image sources: "tfds:NAME" (any TFDS image dataset with an "image"
feature), "folder" (--dataset folder:PATH), "items:ITEMS" (a single-channel
10-class set read by `image_data.items`: fashion_mnist from its local
files), "stacked:ITEMS" (three items of ITEMS = mnist, fashion_mnist or
sklearn_digits as RGB, 1,000 modes). Scorers: "fid" (FID/KID when
--fid-samples > 0), "classes" (10 modes counted by a classifier the package
trains on the items D), "stacked_classes" (1,000 modes, one class per
channel). Plain Python: `--help` and config validation stay light.
"""

import dataclasses
import json
import math
import pathlib
from typing import Optional, Tuple

PRESETS_DIR = pathlib.Path(__file__).parent.parent / "presets"
KINDS = ("mixture", "image")
SCORERS = ("mixture", "fid", "classes", "stacked_classes")


@dataclasses.dataclass(frozen=True)
class Dataset:
  """A dataset as its preset declares it."""

  name: str
  kind: str
  source: str = "generated"
  channels: int = 0
  size: int = 0              # the native (or default) image side
  resizable: bool = False    # whether --image-size may change it
  crop: str = "none"
  scorer: str = "mixture"
  classes: str = ""          # the items the mode classifier learns from

  def __post_init__(self):
    if self.kind not in KINDS or self.scorer not in SCORERS:
      raise ValueError(f"preset {self.name}: kind must be one of {KINDS} and "
                       f"scorer one of {SCORERS}")

  @property
  def is_image(self) -> bool:
    return self.kind == "image"

  @property
  def counts_modes(self) -> bool:
    """Whether a classifier counts this dataset's modes."""
    return self.scorer in ("classes", "stacked_classes")

  @property
  def num_modes(self) -> int:
    """Modes a class scorer counts (10 classes, or 1,000 stacked triples)."""
    return {"classes": 10, "stacked_classes": 1000}.get(self.scorer, 0)

  def image_size(self, requested: int = 0) -> int:
    """The side of the images a run trains on (`--image-size`, 0: the default)."""
    if requested and requested != self.size and not self.resizable:
      raise ValueError(f"{self.name} images are {self.size}x{self.size}; "
                       "leave --image-size unset")
    return requested or self.size

  def example_shape(self, image_size: int = 0) -> Tuple[int, ...]:
    """(2,) for points; (height, width, channels) for images."""
    if not self.is_image:
      return (2,)
    side = self.image_size(image_size)
    return (side, side, self.channels)


def names():
  return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def read_preset(name: str) -> dict:
  """The preset file of dataset `name`, or a one-line ValueError."""
  path = PRESETS_DIR / f"{name}.json"
  if not path.exists():
    raise ValueError(f"unknown dataset {name!r}; choose from "
                     f"{', '.join(names())} (or folder:PATH)")
  return json.loads(path.read_text())


def get(name: str) -> Dataset:
  return Dataset(name=name, **read_preset(name)["data"])


@dataclasses.dataclass(frozen=True)
class DataInfo:
  """What the networks of a run need to know of its data.

  shape: one example's shape. For points (a mixture), None for images:
  extent, a bound on |coordinate| that holds the data (the modes plus 5 std);
  mode_std, the modes' standard deviation; mode_spacing, the distance
  between neighbouring modes.
  """

  shape: Tuple[int, ...]
  extent: Optional[float] = None
  mode_std: Optional[float] = None
  mode_spacing: Optional[float] = None

  @property
  def is_image(self) -> bool:
    return len(self.shape) == 3


def mixture_spec(config) -> dict:
  """What an independent evaluator needs to rebuild a 2-D run's true
  distribution (`mixtures.make_mixture(**spec)`; kept in export metadata)."""
  return {k: getattr(config, k)
          for k in ("layout", "num_modes", "radius", "spacing", "std")}


def data_info(config) -> DataInfo:
  dataset = get(config.dataset)
  if dataset.is_image:
    return DataInfo(dataset.example_shape(config.image_size))
  if config.layout == "grid":  # modes up to (side - 1) / 2 spacings out
    reach = (round(config.num_modes ** 0.5) - 1) / 2 * config.spacing
    spacing = config.spacing if config.num_modes > 1 else 0.0
  else:
    reach = config.radius
    spacing = 2 * config.radius * math.sin(math.pi / config.num_modes) if config.num_modes > 1 else 0.0
  return DataInfo((2,), reach + 5 * config.std, config.std, spacing)
