"""Run configuration: one dataclass, presets per dataset, command-line overrides.

A preset (`lbt_tf/presets/<dataset>.json`) holds the paper's and the
authors' settings for a dataset (see ../shared/reference/NOTES.md, section 3);
every field can then be overridden on the command line as `--field-name`.
Image datasets are those of `lbt_tf.image_data` (`folder:PATH` is the
`folder` preset with --data-dir PATH); the others are 2-D mixtures.
"""

import dataclasses
import math
import json
import pathlib
import typing
from typing import Tuple

PRESETS_DIR = pathlib.Path(__file__).parent / "presets"
METHODS = ("lbt", "lbt-gan", "gan", "unrolled-gan", "veegan", "pacgan")
ESTIMATOR_OPTIMIZERS = ("adam", "sgd")
STRATEGIES = ("auto", "default", "mirrored", "multi-worker")  # see lbt_tf.distributed
IMAGE_DATASETS = ("mnist", "cifar10", "celeb_a", "stacked_mnist",
                  "stacked_digits", "folder")  # as in lbt_tf.image_data
MIXTURE_ONLY_METHODS = ("veegan",)  # its joint (z, x) networks are MLPs
# Where a run's data or caches live: not part of what a run *is*, so a
# resumed run may find them elsewhere.
LOCATIONS = ("data_dir", "cache_dir", "inception_weights")


@dataclasses.dataclass
class Config:
  """Every setting of a run. Defaults are the ring preset's."""

  # what to train
  dataset: str = "ring"
  method: str = "lbt-gan"
  steps: int = 5000
  batch_size: int = 512
  seed: int = 0
  # the 2-D Gaussian mixture (the dataset name picks a preset for these)
  layout: str = "ring"
  num_modes: int = 8
  radius: float = 1.0
  spacing: float = 0.2
  std: float = 0.1
  # networks
  noise_dim: int = 256
  activation: str = "tanh"
  generator_units: Tuple[int, ...] = (128, 128)
  discriminator_units: Tuple[int, ...] = (128, 128)
  estimator_units: Tuple[int, ...] = (128, 128)
  latent_dim: int = 32
  decoder_likelihood: str = "gaussian"
  decoder_variance: float = 1e-3
  learn_decoder_variance: bool = False
  # images: DCGAN-style G and D (widths = channels of the largest layer / 2^k)
  image_size: int = 0               # 0: the dataset's own (64 for celeb_a)
  generator_width: int = 64
  discriminator_width: int = 64
  data_dir: str = ""                # TFDS data dir, or the folder of images
  cache_dir: str = ""               # digit classifiers (default ~/.cache/lbt_tf)
  fid_samples: int = 0              # FID/KID on this many samples (0: off)
  inception_weights: str = "imagenet"  # or a local InceptionV3 .h5 (no top)
  # optimisers (Adam everywhere, as in the paper)
  generator_lr: float = 1e-3
  generator_beta1: float = 0.5
  generator_clipnorm: float = 5.0
  discriminator_lr: float = 1e-3
  discriminator_beta1: float = 0.5
  estimator_optimizer: str = "adam"
  estimator_lr: float = 1e-3
  # learning by teaching
  estimator_steps: int = 2          # M
  unroll_steps: int = 5             # K (unrolled-gan: D updates unrolled)
  stop_second_moment: bool = True   # when unrolling Adam
  adversarial_weight: float = 0.1   # lambda_G, LBT-GAN only
  teaching_warmup: int = 0          # iterations before the LBT term counts
  # baselines
  pack: int = 2                     # PacGAN: samples per discriminator input
  # evaluation and speed
  eval_every: int = 500
  checkpoint_every: int = 500
  eval_samples: int = 50_000
  final_eval_samples: int = 500_000
  steps_per_execution: int = 10
  jit_compile: bool = False

  def validate(self):
    """Raise ValueError with a one-line explanation of the first bad value."""
    if self.method not in METHODS:
      raise ValueError(f"unknown method {self.method!r}; choose from "
                       f"{', '.join(METHODS)}")
    if self.estimator_optimizer not in ESTIMATOR_OPTIMIZERS:
      raise ValueError(f"unknown estimator optimizer {self.estimator_optimizer!r};"
                       f" choose from {', '.join(ESTIMATOR_OPTIMIZERS)}")
    for name in ("steps", "batch_size", "noise_dim", "latent_dim", "eval_every",
                 "checkpoint_every", "pack", "generator_width", "discriminator_width",
                 "eval_samples", "final_eval_samples", "steps_per_execution"):
      if getattr(self, name) < 1:
        raise ValueError(f"--{flag(name)} must be at least 1, got {getattr(self, name)}")
    if is_image(self.dataset) and self.method in MIXTURE_ONLY_METHODS:
      raise ValueError(f"--method {self.method} is implemented for the 2-D "
                       f"mixtures only; on images choose from "
                       f"{', '.join(m for m in METHODS if m not in MIXTURE_ONLY_METHODS)}")
    for name in ("estimator_steps", "unroll_steps", "teaching_warmup",
                 "image_size", "fid_samples"):
      if getattr(self, name) < 0:
        raise ValueError(f"--{flag(name)} must be >= 0, got {getattr(self, name)}")
    if self.method == "pacgan" and self.batch_size % self.pack:
      raise ValueError(f"--batch-size ({self.batch_size}) must be a multiple of "
                       f"--pack ({self.pack})")
    if self.steps % self.eval_every:
      raise ValueError(f"--steps ({self.steps}) must be a multiple of "
                       f"--eval-every ({self.eval_every})")
    for name in ("eval_every", "checkpoint_every"):
      if getattr(self, name) % self.steps_per_execution:
        raise ValueError(f"--{flag(name)} ({getattr(self, name)}) must be a "
                         f"multiple of --steps-per-execution ({self.steps_per_execution})")
    for name in ("std", "decoder_variance", "generator_lr", "discriminator_lr",
                 "estimator_lr"):
      if not getattr(self, name) > 0:
        raise ValueError(f"--{flag(name)} must be positive, got {getattr(self, name)}")
    return self

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), indent=2)

  @classmethod
  def from_json(cls, text: str) -> "Config":
    values = json.loads(text)
    unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
      raise ValueError(f"unknown settings {', '.join(sorted(unknown))}")
    return cls(**_tuples(values)).validate()

  def differences(self, other: "Config", ignore=("steps",) + LOCATIONS) -> list:
    """`field: ours vs theirs` for every setting that differs."""
    return [f"{f.name}: {getattr(self, f.name)} vs {getattr(other, f.name)}"
            for f in dataclasses.fields(self)
            if f.name not in ignore and getattr(self, f.name) != getattr(other, f.name)]


def flag(field_name: str) -> str:
  return field_name.replace("_", "-")


def datasets():
  return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def is_image(dataset: str) -> bool:
  return dataset in IMAGE_DATASETS


def mixture_spec(config: Config) -> dict:
  """What an independent evaluator needs to rebuild a 2-D run's true
  distribution (`mixtures.make_mixture(**spec)`; kept in export metadata)."""
  return {k: getattr(config, k)
          for k in ("layout", "num_modes", "radius", "spacing", "std")}


def preset(dataset: str) -> dict:
  path = PRESETS_DIR / f"{dataset}.json"
  if not path.exists():
    raise ValueError(f"unknown dataset {dataset!r}; choose from "
                     f"{', '.join(datasets())} (or folder:PATH)")
  return {key: value for key, value in json.loads(path.read_text()).items()
          if not key.startswith("_")}  # "_about": what the preset is


def field_types():
  hints = typing.get_type_hints(Config)
  return {f.name: hints[f.name] for f in dataclasses.fields(Config)}


def parse_value(name: str, text: str):
  """Convert command-line text to the type of field `name`."""
  kind = field_types()[name]
  try:
    if kind is bool:
      if text.lower() in ("1", "true", "yes", "on"):
        return True
      if text.lower() in ("0", "false", "no", "off"):
        return False
      raise ValueError
    if kind == Tuple[int, ...]:
      values = tuple(int(v) for v in text.split(",") if v.strip())
      if not values or min(values) < 1:
        raise ValueError
      return values
    return kind(text)
  except ValueError:
    expected = {bool: "true or false", int: "an integer", float: "a number",
                str: "text"}.get(kind, "comma-separated positive integers")
    raise ValueError(f"--{flag(name)}: expected {expected}, got {text!r}") from None


def make_config(dataset: str, overrides: dict) -> Config:
  """The dataset's preset with `overrides` (field name -> value) applied.

  `folder:PATH` means the folder preset with data_dir PATH. Periods that
  were not given (evaluation, checkpoints) shrink to a run shorter than
  they are, and steps per execution to divide them, so `--steps 2` works.
  """
  if dataset.startswith("folder:"):
    dataset, overrides = "folder", dict(overrides, data_dir=dataset[len("folder:"):])
  values = {f.name: f.default for f in dataclasses.fields(Config)}
  values.update(preset(dataset))
  values.update(overrides)
  values["dataset"] = dataset
  for period in ("eval_every", "checkpoint_every"):
    if period not in overrides:
      values[period] = min(values[period], values["steps"])
  if "steps_per_execution" not in overrides:
    values["steps_per_execution"] = math.gcd(
        values["steps_per_execution"], values["eval_every"], values["checkpoint_every"])
  return Config(**_tuples(values)).validate()


def _tuples(values: dict) -> dict:
  """JSON lists back to the tuples the dataclass holds."""
  for name, kind in field_types().items():
    if kind == Tuple[int, ...] and name in values:
      values[name] = tuple(values[name])
  return values


def load(workdir) -> Config:
  """The saved config of the run in `workdir`."""
  path = pathlib.Path(workdir) / "config.json"
  if not path.exists():
    raise ValueError(f"{workdir} holds no lbt_tf run (no config.json)")
  try:
    return Config.from_json(path.read_text())
  except (ValueError, TypeError) as e:
    raise ValueError(f"{path} is not an lbt_tf config ({e})") from None
