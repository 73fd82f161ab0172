"""Exported generators: find a version, read its metadata, load it, sample it.

A generator is exported in TF Serving's layout, `BASE/<version>/`, with
`assets/lbt_tf_metadata.json`. This module needs TensorFlow only to load
one: the commands that score or sample exports (`lbt_tf.evaluate`,
`lbt_tf.sample`, the comparison's re-scoring) use it and never import the
training code.
"""

import dataclasses
import json
import pathlib
from typing import Callable

import numpy as np

METADATA_FILE = "lbt_tf_metadata.json"
CHUNK = 50_000


def versions(base) -> list:
  """The integer versions under `base`, ascending."""
  return sorted(int(p.name) for p in pathlib.Path(base).glob("*")
                if p.name.isdigit() and p.is_dir())


def resolve_model_dir(model, version=None) -> pathlib.Path:
  """`model` is a SavedModel folder or a base of versions (newest by default)."""
  model = pathlib.Path(model)
  if version is None and (model / "saved_model.pb").exists():
    return model
  if not model.is_dir():
    raise FileNotFoundError(f"no SavedModel at {model}: no such directory")
  available = versions(model)
  if version is not None:
    if int(version) not in available:
      raise FileNotFoundError(
          f"{model} has no version {version}; versions there: "
          f"{', '.join(map(str, available)) or 'none'}")
    return model / str(version)
  if not available:
    raise FileNotFoundError(
        f"no SavedModel in {model}: expected saved_model.pb or numbered "
        "version folders (BASE/1/saved_model.pb)")
  return model / str(available[-1])


def metadata(model_dir) -> dict:
  """What lbt_tf recorded about an exported generator ({} if not ours)."""
  path = pathlib.Path(model_dir) / "assets" / METADATA_FILE
  if not path.exists():
    return {}
  try:
    return json.loads(path.read_text())
  except json.JSONDecodeError as e:
    raise ValueError(f"{path} is corrupted ({e})") from None


@dataclasses.dataclass
class ExportedGenerator:
  """A loaded export: `generate(z)` runs `serving_default` on NumPy noise."""

  model_dir: pathlib.Path
  metadata: dict
  generate: Callable
  signatures: object

  @property
  def noise_dim(self) -> int:
    return self.metadata["noise_dim"]

  def sample(self, num_samples: int, seed: int, chunk: int = CHUNK) -> np.ndarray:
    """`num_samples` samples from standard-normal noise drawn from `seed`."""
    return draw(self.generate, self.noise_dim, num_samples, seed, chunk)


def load(model, version=None) -> ExportedGenerator:
  """The exported generator at `model` (a version folder or a base)."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from lbt_tf.errors import first_line  # pylint: disable=g-import-not-at-top
  model_dir = resolve_model_dir(model, version)
  recorded = metadata(model_dir)
  try:
    signatures = tf.saved_model.load(str(model_dir)).signatures
    serve = signatures["serving_default"]
  except (OSError, tf.errors.OpError, KeyError, ValueError) as e:
    raise ValueError(f"{model_dir} is not a loadable generator SavedModel "
                     f"({first_line(e)})") from None
  if "noise_dim" not in recorded:
    recorded["noise_dim"] = serve.structured_input_signature[1]["z"].shape[1]
  return ExportedGenerator(model_dir, recorded,
                           lambda z: serve(z=tf.constant(z))["samples"].numpy(),
                           signatures)


def draw(generate_from_noise, noise_dim: int, num_samples: int, seed: int,
         chunk: int = CHUNK) -> np.ndarray:
  """`generate_from_noise(z)` on standard-normal z, `chunk` rows at a time.

  Works for an in-memory Keras generator and for an exported SavedModel's
  `serving_default` alike; the same seed gives the same noise.
  """
  rng = np.random.default_rng(seed)
  parts = []
  for start in range(0, num_samples, chunk):
    z = rng.standard_normal((min(chunk, num_samples - start), noise_dim),
                            dtype=np.float32)
    parts.append(np.asarray(generate_from_noise(z)))
  return np.concatenate(parts)
