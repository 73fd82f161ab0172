"""Trains a method briefly on one device and on two logical CPU replicas
(same global batch, same seeds) and prints, as JSON, the largest difference
between the two runs' final checkpoints. Run in its own process: the CPU
must be split before TensorFlow starts (tests/test_distribute.py does this).

  python tests/replica_equivalence.py WORKDIR lbt lbt-gan ...
"""

import json
import pathlib
import sys

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from lbt_tf import config as config_lib  # pylint: disable=g-import-not-at-top
from lbt_tf import checkpointing, train_lib

STEPS = 6


def small_config(method):
  return config_lib.make_config("ring", {
      "method": method, "noise_dim": 8, "batch_size": 64, "latent_dim": 4,
      "generator_units": (16, 16), "discriminator_units": (16, 16),
      "estimator_units": (16, 16), "estimator_steps": 2, "unroll_steps": 3,
      "steps_per_execution": 3, "steps": STEPS, "eval_every": STEPS,
      "checkpoint_every": STEPS, "eval_samples": 1000,
      "final_eval_samples": 1000})


def restored(config, run_dir):
  """A fresh single-device trainer holding the run's final checkpoint."""
  trainer = train_lib.build_trainer(config)
  checkpointing.restore_exactly(trainer, checkpointing.resolve(run_dir))
  return trainer


def state_variables(trainer):
  """Every variable a checkpoint holds, in a fixed order."""
  variables = []
  for network in checkpointing.networks_of(trainer).values():
    variables += network.variables
  for optimizer in checkpointing.optimizers_of(trainer).values():
    variables += optimizer.variables
  return variables + [trainer.seed_generator.state]


def largest_difference(variables_a, variables_b):
  """Largest |a - b| / max(1, |a|) over all elements (Adam's second moments
  reach hundreds, where float32 rounding alone is 1e-5 in absolute terms)."""
  return max(float((abs(a.numpy() - b.numpy()) / np.maximum(1, abs(a.numpy()))).max())
             for a, b in zip(variables_a, variables_b, strict=True)
             if "float" in str(a.dtype))


def main(workdir, methods):
  report = {}
  # One strategy per process: a second one would reuse collective keys.
  strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
  for method in methods:
    config = small_config(method)
    quiet = lambda message: None
    train_lib.train_and_evaluate(config, workdir / method / "one", report=quiet)
    two = train_lib.train_and_evaluate(
        config, workdir / method / "two", report=quiet,
        strategy=strategy)
    one = restored(config, workdir / method / "one")
    initial = train_lib.build_trainer(config)
    report[method] = {
        # every network, optimizer slot and counter of the two runs
        "max_difference": largest_difference(
            state_variables(one),
            state_variables(
                restored(config, workdir / method / "two"))),
        "generator_moved": largest_difference(one.generator.variables,
                                              initial.generator.variables),
        "replicas": two["replicas"]}
  print(json.dumps(report))


if __name__ == "__main__":
  main(pathlib.Path(sys.argv[1]), sys.argv[2:])
