"""Export a generator as a SavedModel that TensorFlow Serving can load.

Layout: `BASE/<version>/` (TF Serving's), written to a temporary folder
first and renamed into place, so a crash never leaves a half-written version
and an existing version is never overwritten.

Signatures:
  serving_default: z float32 [batch, noise_dim] -> {"samples": [batch, ...]}
                   (float32 points, or uint8 images [batch, h, w, c] in
                   0..255 for an image generator)
  sample:          num_samples int32 [], seed int64 [] -> {"samples": ...},
                   the same samples for the same seed
"""

import json
import os
import pathlib
import shutil
import tempfile

import keras
import tensorflow as tf

from lbt_tf.errors import reason
from lbt_tf.export.generators import METADATA_FILE, versions


def next_version(base) -> int:
  """One more than the largest integer version under `base` (1 if none)."""
  return max(versions(base), default=0) + 1


def export_generator(generator: keras.Model, noise_dim: int, base,
                     version: int = None, metadata: dict = None) -> pathlib.Path:
  """Write `generator` to `base/version` (default: the next free version)."""
  base = pathlib.Path(base)
  version = next_version(base) if version is None else int(version)
  target = base / str(version)
  if target.exists():
    raise FileExistsError(
        f"{target} already exists; pass another --version or remove it first")
  base.mkdir(parents=True, exist_ok=True)
  images = len(generator(tf.zeros([1, noise_dim]), training=False).shape) == 4

  @tf.function(input_signature=[
      tf.TensorSpec([None, noise_dim], tf.float32, name="z")])
  def serve(z):
    samples = generator(z, training=False)
    if images:  # [0, 1] -> the uint8 pixels image tools expect
      samples = tf.cast(tf.round(tf.clip_by_value(samples, 0.0, 1.0) * 255.0),
                        tf.uint8)
    return {"samples": samples}

  @tf.function(input_signature=[
      tf.TensorSpec([], tf.int32, name="num_samples"),
      tf.TensorSpec([], tf.int64, name="seed")])
  def sample(num_samples, seed):
    z = tf.random.stateless_normal(
        tf.stack([num_samples, noise_dim]), tf.stack([seed, tf.constant(0, tf.int64)]))
    return serve(z)

  archive = keras.export.ExportArchive()
  archive.track(generator)
  archive.add_endpoint("serving_default", serve)
  archive.add_endpoint("sample", sample)
  staging = None
  try:
    staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{version}-", dir=base))
    archive.write_out(str(staging), verbose=False)
    metadata = dict(metadata or {}, noise_dim=noise_dim)
    (staging / "assets").mkdir(exist_ok=True)
    (staging / "assets" / METADATA_FILE).write_text(json.dumps(metadata, indent=2))
    staging.chmod(0o755)  # mkdtemp's 0700 would hide it from a serving user
    os.rename(staging, target)  # atomic: the version appears whole or not at all
  except (OSError, tf.errors.OpError) as e:  # a full disk, most often
    if staging:
      shutil.rmtree(staging, ignore_errors=True)
    raise OSError(f"could not write the export {target} ({reason(e)}); "
                  "nothing was left behind: free some space and export again "
                  "(python -m lbt_tf.export --workdir RUN --export-dir BASE)") from None
  except BaseException:
    if staging:
      shutil.rmtree(staging, ignore_errors=True)
    raise
  return target
