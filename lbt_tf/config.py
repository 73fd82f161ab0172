"""Run configuration: one dataclass, a preset per dataset, command-line overrides.

A preset (`lbt_tf/presets/<dataset>.json`) describes its data (a "data"
block, see `lbt_tf.data.datasets`) and holds the settings chosen for it;
every field of `Config` can then be overridden on the command line as
`--field-name`. Plain Python: no TensorFlow, so `--help` and validation
are instant. Checks that need a method's or an estimator's code run in
`train_lib.check` (each refuses what it cannot do), still before anything
is written.
"""

import dataclasses
import json
import math
import pathlib
import typing
from typing import Tuple

from lbt_tf import smoothing
from lbt_tf.data import datasets
from lbt_tf.estimators import ESTIMATORS
from lbt_tf.methods import METHODS

PRESETS_DIR = datasets.PRESETS_DIR
ESTIMATOR_OPTIMIZERS = ("adam", "sgd")
HYPERGRADIENTS = ("unroll", "truncated", "implicit")  # as in lbt_tf.hypergradient
SOLVERS = ("cg", "neumann", "outer-product")  # as in lbt_tf.hypergradient
LOOPS = ("symbolic", "python")
IMAGE_NETWORKS = ("dcgan", "lbt-smnist")  # as in lbt_tf.networks
LIKELIHOODS = ("gaussian", "bernoulli")
LAYOUTS = ("ring", "grid")
ACTIVATIONS = ("tanh", "relu", "elu", "gelu", "selu", "sigmoid", "softplus",
               "silu", "swish", "leaky_relu", "mish", "linear")
STRATEGIES = ("auto", "default", "mirrored", "multi-worker")  # see lbt_tf.distributed
EVAL_SEED = 1234  # the evaluations' noise: fixed, so that runs compare
# Where a run's data or caches live: not part of what a run *is*, so a
# resumed run may find them elsewhere.
LOCATIONS = ("data_dir", "cache_dir", "inception_weights")


def setting(default, help_text: str):
  return dataclasses.field(default=default, metadata={"help": help_text})


@dataclasses.dataclass
class Config:
  """Every setting of a run. Defaults are the ring preset's."""

  # what to train
  dataset: str = setting("ring", "a preset (lbt_tf/presets) or folder:PATH")
  method: str = setting("lbt-gan", "the training method")
  steps: int = setting(5000, "training iterations")
  batch_size: int = setting(512, "the global batch")
  seed: int = setting(0, "seeds the networks, the noise and the data")
  # the 2-D Gaussian mixture
  layout: str = setting("ring", "ring or grid")
  num_modes: int = setting(8, "modes (a square number for a grid)")
  radius: float = setting(1.0, "ring: radius of the circle of modes")
  spacing: float = setting(0.2, "grid: distance between neighbouring modes")
  std: float = setting(0.1, "standard deviation of every mode")
  # networks
  noise_dim: int = setting(256, "generator noise dimension")
  activation: str = setting("tanh", "hidden activation of the MLPs")
  generator_units: Tuple[int, ...] = setting((128, 128), "generator MLP widths")
  discriminator_units: Tuple[int, ...] = setting((128, 128), "discriminator MLP widths")
  image_size: int = setting(0, "images: side length (0: the dataset's own)")
  image_networks: str = setting(
      "dcgan", "images: dcgan (Radford et al.) or lbt-smnist (the LBT authors' Stacked "
               "MNIST nets, lbt_tf/networks.py)")
  generator_width: int = setting(64, "images: generator width (its channels scale with it)")
  discriminator_width: int = setting(64, "images: discriminator width (channels of its first convolution)")
  # the density estimator (lbt_tf/estimators)
  estimator: str = setting("vae", "the estimator the generator teaches")
  estimator_units: Tuple[int, ...] = setting(
      (128, 128), "VAE encoder/decoder widths; flow conditioner widths")
  latent_dim: int = setting(32, "vae/iwae: latent dimension")
  decoder_likelihood: str = setting("gaussian", "vae/iwae: gaussian or bernoulli")
  decoder_variance: float = setting(1e-3, "vae/iwae: Gaussian decoder variance")
  learn_decoder_variance: bool = setting(False, "vae/iwae: train that variance")
  importance_samples: int = setting(8, "iwae: k, samples of the bound")
  flow_couplings: int = setting(8, "flow: coupling layers")
  flow_bins: int = setting(32, "flow: spline bins")
  flow_range: float = setting(0.0, "flow: splines act on [-r, r] (0: the data's extent)")
  mixture_components: int = setting(128, "mixture: Gaussian components")
  bandwidth: float = setting(
      0.0, "kde: kernel bandwidth; with --smooth-estimator true: std of the noise smoothing "
           "what a trained estimator fits and scores (lbt_tf/smoothing.py); the first if "
           "annealed (0 on a mixture: half the distance between modes, for a smoothed "
           "estimator only if annealed)")
  final_bandwidth: float = setting(0.0, "bandwidth after annealing (0: half the modes' std)")
  anneal_steps: int = setting(0, "iterations to shrink the bandwidth over (0: constant)")
  smooth_estimator: bool = setting(
      False, "lbt/lbt-gan with a trained estimator (vae, iwae, flow, mixture): smooth what "
             "it fits and scores with the bandwidth schedule (false: the paper's algorithm)")
  # optimisers (Adam everywhere, as in the paper)
  generator_lr: float = setting(1e-3, "generator Adam learning rate")
  generator_beta1: float = setting(0.5, "generator Adam beta1")
  generator_clipnorm: float = setting(5.0, "generator global-norm clip (0: none)")
  discriminator_lr: float = setting(1e-3, "discriminator Adam learning rate")
  discriminator_beta1: float = setting(0.5, "discriminator Adam beta1")
  discriminator_steps: int = setting(0, "D updates per iteration (0: the method's own)")
  estimator_optimizer: str = setting("adam", "adam or sgd")
  estimator_lr: float = setting(1e-3, "learning rate of the M real estimator steps")
  estimator_beta1: float = setting(0.9, "estimator Adam beta1")
  # learning by teaching
  estimator_steps: int = setting(2, "M: real estimator steps per iteration")
  unroll_steps: int = setting(
      5, "K: unrolled steps (unrolled-gan: of D; kde: the generator batches its kernel "
         "is centred on, K x batch centres)")
  unroll_lr: float = setting(0.0, "learning rate of the K unrolled steps (0: estimator_lr)")
  stop_second_moment: bool = setting(
      True, "unrolled Adam: true (the authors' choice) holds each step's second moment "
            "constant, an approximation of the K-step gradient; false differentiates it "
            "too: the exact gradient of what the K Adam steps do")
  hypergradient: str = setting("unroll", "unroll, truncated or implicit (lbt_tf/hypergradient.py)")
  unroll_loop: str = setting("symbolic", "symbolic (tf.while_loop, steps recomputed) or python")
  truncate_steps: int = setting(1, "truncated: T, the last T of the K steps differentiated")
  implicit_iterations: int = setting(10, "implicit: conjugate-gradient (or Neumann) iterations")
  implicit_damping: float = setting(1e-3, "implicit, cg/neumann: added to the Hessian's diagonal")
  implicit_solver: str = setting(
      "cg", "implicit: cg, neumann or outer-product (H ~ g g^T + lambda I, BRC)")
  outer_product_lambda: float = setting(
      100.0, "implicit, outer-product (and brc-gan): lambda of H ~ g g^T + lambda I; near "
             "the inner optimum the correction is a look-ahead gradient step of 1 / lambda "
             "(brc-gan diverged at 1 and 10 on the VEEGAN ring, trained at 100 and 1000: "
             "docs/RESULTS.md 1.5)")
  implicit_step: float = setting(1e-3, "implicit, neumann: alpha (below 2 / largest eigenvalue)")
  adversarial_weight: float = setting(0.1, "lbt-gan: lambda_G")
  teaching_warmup: int = setting(
      0, "lbt-gan: GAN iterations before LBT starts (no estimator update or unroll "
         "until then; the authors' images: 3000)")
  scale_teaching: bool = setting(
      False, "lbt-gan: multiply the teaching term by (h / first h)^2 as the bandwidth "
             "shrinks: its gradient stays in data units (the mean-shift step) and "
             "lambda_G's term keeps its weight")
  # baselines
  pack: int = setting(2, "pacgan: samples per discriminator input")
  gradient_penalty: float = setting(10.0, "wgan-gp: penalty weight lambda")
  energy_units: int = setting(128, "vgan: d, the discriminator's sigmoid outputs")
  # evaluation and speed
  eval_every: int = setting(500, "iterations between evaluations (at most --steps)")
  checkpoint_every: int = setting(500, "iterations between checkpoints (at most --steps)")
  eval_samples: int = setting(50_000, "samples per periodic evaluation")
  final_eval_samples: int = setting(500_000, "samples of the final evaluation")
  fid_samples: int = setting(
      0, "images: FID/KID on this many samples against as many training images (0: off); "
         "this library's own (Keras InceptionV3), not comparable with published FIDs "
         "(the 2015-12-05 Inception graph, 50,000 samples)")
  steps_per_execution: int = setting(10, "iterations per compiled call (at most the periods')")
  jit_compile: bool = setting(False, "XLA (slower on CPU)")
  # where things are
  data_dir: str = setting("", "TFDS data dir, or the folder of images")
  cache_dir: str = setting("", "digit classifiers (default ~/.cache/lbt_tf)")
  inception_weights: str = setting("imagenet", "or a local InceptionV3 'notop' .h5")

  # -- periods: derived from --steps at run time, never stored shrunk, so a
  #    run extended with a larger --steps keeps its settings.

  @property
  def eval_period(self) -> int:
    return min(self.eval_every, self.steps)

  @property
  def checkpoint_period(self) -> int:
    return min(self.checkpoint_every, self.steps)

  @property
  def execution_steps(self) -> int:
    """Iterations per compiled call: divides both periods."""
    return math.gcd(self.steps_per_execution, self.eval_period,
                    self.checkpoint_period)

  @property
  def data(self) -> datasets.Dataset:
    return datasets.get(self.dataset)

  def validate(self):
    """Raise ValueError with a one-line explanation of the first bad value,
    cross-field checks included; a 0 that means "derive it" (the bandwidths
    on a mixture) is replaced by the value derived. Returns self."""
    dataset = datasets.get(self.dataset)
    METHODS.check(self.method)
    ESTIMATORS.check(self.estimator)
    for name, choices in (("estimator_optimizer", ESTIMATOR_OPTIMIZERS),
                          ("hypergradient", HYPERGRADIENTS), ("implicit_solver", SOLVERS),
                          ("unroll_loop", LOOPS), ("image_networks", IMAGE_NETWORKS),
                          ("decoder_likelihood", LIKELIHOODS),
                          ("layout", LAYOUTS), ("activation", ACTIVATIONS)):
      if getattr(self, name) not in choices:
        raise ValueError(f"unknown --{flag(name)} {getattr(self, name)!r}; "
                         f"choose from {', '.join(choices)}")
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"--{flag(field.name)} must be a finite number, got {value}")
    at_least_one = ("steps", "batch_size", "noise_dim", "latent_dim", "num_modes",
                    "eval_every", "checkpoint_every", "pack", "generator_width",
                    "discriminator_width", "eval_samples", "final_eval_samples",
                    "steps_per_execution", "importance_samples", "flow_couplings",
                    "mixture_components", "truncate_steps", "implicit_iterations",
                    "energy_units")
    for name in at_least_one:
      if getattr(self, name) < 1:
        raise ValueError(f"--{flag(name)} must be at least 1, got {getattr(self, name)}")
    if self.flow_bins < 2:
      raise ValueError(f"--flow-bins must be at least 2, got {self.flow_bins}")
    non_negative = ("estimator_steps", "unroll_steps", "teaching_warmup", "image_size",
                    "fid_samples", "flow_range", "final_bandwidth",
                    "anneal_steps", "unroll_lr", "discriminator_steps", "bandwidth",
                    "generator_clipnorm", "adversarial_weight", "gradient_penalty",
                    "implicit_damping")
    for name in non_negative:
      if getattr(self, name) < 0:
        raise ValueError(f"--{flag(name)} must be >= 0, got {getattr(self, name)}")
    positive = ("std", "radius", "spacing", "decoder_variance", "generator_lr",
                "discriminator_lr", "estimator_lr", "implicit_step") + (
                    ("outer_product_lambda",) if self.uses_outer_product else ())
    for name in positive:
      if not getattr(self, name) > 0:
        raise ValueError(f"--{flag(name)} must be positive, got {getattr(self, name)}")
    for name in ("generator_beta1", "discriminator_beta1", "estimator_beta1"):
      if not 0 <= getattr(self, name) < 1:
        raise ValueError(f"--{flag(name)} must be in [0, 1), got {getattr(self, name)}")
    if self.layout == "grid" and math.isqrt(self.num_modes) ** 2 != self.num_modes:
      raise ValueError("a grid needs a square number of modes (4, 9, ..., 100), "
                       f"got --num-modes {self.num_modes}")
    if self.teaching_warmup % self.execution_steps:
      raise ValueError(f"--teaching-warmup ({self.teaching_warmup}) must be a multiple "
                       f"of the iterations per compiled call ({self.execution_steps}: "
                       "--steps-per-execution and the evaluation and checkpoint periods)")
    if self.steps % self.eval_period:
      raise ValueError(f"--steps ({self.steps}) must be a multiple of "
                       f"--eval-every ({self.eval_every})")
    if self.method == "lbt-gan" and self.teaching_warmup >= self.steps:
      raise ValueError(f"--teaching-warmup ({self.teaching_warmup}) is not below --steps "
                       f"({self.steps}): the run would end before LBT-GAN teaches (a plain "
                       "GAN); give more --steps or a shorter --teaching-warmup (0: from the start)")
    dataset.image_size(self.image_size)  # refuses a size the data cannot have
    if dataset.is_image and self.fid_samples == 1:
      raise ValueError("--fid-samples must be 0 (off) or at least 2: FID and KID "
                       "compare covariances of features, which needs 2 samples or more")
    self._resolve_bandwidths(dataset)
    if not self.uses_outer_product:  # stored as 0 where unused, as the bandwidths
      self.outer_product_lambda = 0.0
    return self

  @property
  def uses_outer_product(self) -> bool:
    """Whether --outer-product-lambda is used (BRC's Hessian approximation)."""
    return self.method == "brc-gan" or self.implicit_solver == "outer-product"

  @property
  def teacher(self) -> str:
    """What LBT or LBT-GAN teaches, in words for a table row ("none" for the
    other methods; for the estimator alone, what it fits): the kernel
    teacher (a KDE on K batches of the generator's samples: no inner
    training, no unroll) or a trained estimator with its M real steps, its
    hypergradient and learning rates, smoothed or not."""
    if self.method not in TEACHING_METHODS + ("estimator",):
      return "none"
    if self.method == "estimator":
      return f"{self.estimator} (fitted to the data)"
    bandwidth = (f"h {self.bandwidth:.3g} -> {self.final_bandwidth:.3g}" if self.anneal_steps
                 else f"h {self.bandwidth:.3g}")
    if self.estimator == "kde":
      return f"kernel (KDE on K = {self.unroll_steps} batches, {bandwidth}, no unroll)"
    lr, unroll_lr = self.estimator_lr, self.unroll_lr or self.estimator_lr
    unrolled = f"K = {self.unroll_steps} unrolled"
    if self.hypergradient == "implicit":
      steps = f"M = {self.estimator_steps}, implicit ({self.implicit_solver}), lr {lr:g}"
    elif unroll_lr == lr:
      steps = f"M = {self.estimator_steps}, {unrolled}, lr {lr:g}"
    else:
      steps = f"M = {self.estimator_steps} at lr {lr:g}, {unrolled} at lr {unroll_lr:g}"
    if self.hypergradient == "truncated":
      steps += f", the last {self.truncate_steps} differentiated"
    if self.smooth_estimator:
      steps += f", smoothed {bandwidth}"
    return f"{self.estimator} ({steps})"

  @property
  def follows_schedule(self) -> bool:
    """Whether the bandwidth schedule (`lbt_tf.smoothing`) is used: as a
    KDE's kernel, or as the smoothing of a trained estimator that LBT or
    LBT-GAN teaches with --smooth-estimator true."""
    return self.estimator == "kde" or self.smooth_estimator

  def _resolve_bandwidths(self, dataset: datasets.Dataset):
    """Store the bandwidths a run will use in place of 0 ("from the
    mixture", see `lbt_tf.smoothing`), and 0s where no schedule is used, so
    config.json says what was used; refuse a schedule that cannot run."""
    kernel = self.estimator == "kde"
    if self.smooth_estimator and (self.method not in TEACHING_METHODS or kernel):
      raise ValueError("--smooth-estimator true smooths the trained estimator LBT and "
                       "LBT-GAN teach (vae, iwae, flow, mixture); "
                       f"--method {self.method} --estimator {self.estimator} has none to "
                       "smooth (a KDE's kernel is the schedule itself)")
    if not self.follows_schedule:  # e.g. the ring preset's kernel schedule, for a VAE
      self.bandwidth = self.final_bandwidth = 0.0
      self.anneal_steps = 0
      return
    if self.scale_teaching and not self.anneal_steps:
      raise ValueError("--scale-teaching true needs an annealed bandwidth: give "
                       "--anneal-steps N (N > 0)")
    if not dataset.is_image:
      self.bandwidth, self.final_bandwidth = smoothing.bandwidths(
          self, datasets.data_info(self), kernel=kernel)
    elif (kernel and self.method in TEACHING_METHODS + ("estimator",)
          and not self.bandwidth):
      raise ValueError(f"--estimator kde on {self.dataset} needs --bandwidth (each pixel's "
                       "kernel std, pixels in [0, 1]): images have no modes to derive it "
                       "from; `python -m lbt_tf.smoothing --dataset "
                       f"{self.dataset}` measures their nearest-neighbour distances")
    if self.smooth_estimator and not self.bandwidth:
      raise ValueError(f"--smooth-estimator true needs a bandwidth on {self.dataset}: give "
                       "--bandwidth (or, on a mixture, --anneal-steps to derive it)")
    if self.anneal_steps and not (self.bandwidth > 0 and self.final_bandwidth > 0):
      raise ValueError("--anneal-steps needs --bandwidth and --final-bandwidth on "
                       f"{self.dataset} (there are no modes to derive them from)")
    if self.anneal_steps and self.final_bandwidth > self.bandwidth:
      raise ValueError(f"--final-bandwidth ({self.final_bandwidth:g}) is larger than "
                       f"--bandwidth ({self.bandwidth:g}): the schedule shrinks the "
                       "kernel, coarse to fine; give a final bandwidth at most the first")

  def to_json(self) -> str:
    return json.dumps(dataclasses.asdict(self), indent=2)

  @classmethod
  def from_json(cls, text: str) -> "Config":
    values = json.loads(text)
    unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
      raise ValueError(f"unknown settings {', '.join(sorted(unknown))}")
    if "smooth_estimator" not in values:  # saved before the setting existed, when a
      # trained estimator followed any schedule whose first bandwidth was set
      values["smooth_estimator"] = (values.get("method") in TEACHING_METHODS
                                    and values.get("estimator") != "kde"
                                    and values.get("bandwidth", 0.0) > 0)
    return cls(**_tuples(values)).validate()

  def differences(self, other: "Config", ignore=("steps",) + LOCATIONS) -> list:
    """`field: ours vs theirs` for every setting that differs."""
    return [f"{f.name}: {getattr(self, f.name)} vs {getattr(other, f.name)}"
            for f in dataclasses.fields(self)
            if f.name not in ignore and getattr(self, f.name) != getattr(other, f.name)]


# How `--help` groups the settings (every field in exactly one group).
GROUPS = (
    ("what to train", ("method", "steps", "batch_size", "seed")),
    ("2-D mixture", ("layout", "num_modes", "radius", "spacing", "std")),
    ("networks", ("noise_dim", "activation", "generator_units", "discriminator_units",
                  "image_size", "image_networks", "generator_width",
                  "discriminator_width")),
    ("density estimator", ("estimator", "estimator_units", "latent_dim",
                           "decoder_likelihood", "decoder_variance",
                           "learn_decoder_variance", "importance_samples",
                           "flow_couplings", "flow_bins", "flow_range",
                           "mixture_components", "bandwidth",
                           "final_bandwidth", "anneal_steps", "smooth_estimator")),
    ("optimisers", ("generator_lr", "generator_beta1", "generator_clipnorm",
                    "discriminator_lr", "discriminator_beta1", "discriminator_steps",
                    "estimator_optimizer", "estimator_lr", "estimator_beta1")),
    ("learning by teaching", ("estimator_steps", "unroll_steps", "unroll_lr",
                              "stop_second_moment", "adversarial_weight",
                              "teaching_warmup", "scale_teaching")),
    ("hypergradient", ("hypergradient", "unroll_loop", "truncate_steps", "implicit_iterations",
                       "implicit_damping", "implicit_solver", "implicit_step",
                       "outer_product_lambda")),
    ("baselines", ("pack", "gradient_penalty", "energy_units")),
    ("evaluation and speed", ("eval_every", "checkpoint_every", "eval_samples",
                              "final_eval_samples", "fid_samples",
                              "steps_per_execution", "jit_compile")),
    ("where things are", LOCATIONS),
)


def flag(field_name: str) -> str:
  return field_name.replace("_", "-")


def preset(dataset: str, estimator: str = None) -> dict:
  """The settings a dataset's preset chooses (its data block aside) for a
  run whose estimator is `estimator` (default: the preset's own).

  A preset may tune its teachers apart: its "teachers" block holds the
  settings of the kernel teacher ("kde") and of the trained estimators
  ("trained": vae, iwae, flow, mixture), applied over its other settings
  according to the run's estimator, so that a preset tuned for one teacher
  does not hand its lambda_G or warm-up to the other.
  """
  settings = datasets.read_preset(dataset)
  chosen = {key: value for key, value in settings.items()
            if not key.startswith("_") and key not in ("data", "teachers")}  # "_about": what it is
  teachers = settings.get("teachers", {})
  if set(teachers) - {"kde", "trained"}:
    raise ValueError(f"preset {dataset}: its \"teachers\" block names "
                     f"{sorted(set(teachers) - {'kde', 'trained'})}; only \"kde\" and "
                     "\"trained\" are teachers")
  estimator = estimator or chosen.get("estimator", Config.estimator)
  chosen.update(teachers.get("kde" if estimator == "kde" else "trained", {}))
  return chosen


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

  `folder:PATH` means the folder preset with data_dir PATH.
  """
  if dataset.startswith("folder:"):
    dataset, overrides = "folder", dict(overrides, data_dir=dataset[len("folder:"):])
  values = {f.name: f.default for f in dataclasses.fields(Config)}
  values.update(preset(dataset, overrides.get("estimator")))
  values.update(overrides)
  values["dataset"] = dataset
  config = Config(**_tuples(values)).validate()
  asked = [f"--{flag(name)}" for name in SCHEDULE if overrides.get(name)]
  if overrides.get("scale_teaching") and config.method == "lbt-gan":
    asked.append("--scale-teaching true")
  if overrides.get("outer_product_lambda") and not config.uses_outer_product:
    raise ValueError(f"--outer-product-lambda does nothing to --method {config.method} "
                     f"--implicit-solver {config.implicit_solver}; use --method brc-gan "
                     "or --implicit-solver outer-product, or drop it")
  if asked and not config.follows_schedule:
    fix = ("add --smooth-estimator true (the bandwidth schedule as smoothing), or drop it"
           if config.method in TEACHING_METHODS else "drop it")
    raise ValueError(f"{asked[0]} does nothing to --method {config.method} --estimator "
                     f"{config.estimator} (no bandwidth schedule); {fix}")
  return config


# The fields of the bandwidth schedule (`lbt_tf.smoothing`).
SCHEDULE = ("bandwidth", "final_bandwidth", "anneal_steps")
# The methods that teach an estimator (the only ones --smooth-estimator applies to).
TEACHING_METHODS = ("lbt", "lbt-gan")


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
