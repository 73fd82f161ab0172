"""Trains a method briefly on one device and on two logical CPU replicas
(same global batch, same seeds) and prints, as JSON, the largest difference
between the two runs' whole training states. Run in its own process: the CPU
must be split before TensorFlow starts (tests/test_distribute.py does this).

  python tests/replica_equivalence.py lbt lbt-gan stacked_digits:gan ...

(a method trains on the ring; DATASET:METHOD on that image dataset, with
DCGAN-style networks)
"""

import json
import sys

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from lbt_tf import config as config_lib  # pylint: disable=g-import-not-at-top
from lbt_tf import callbacks, checkpointing, distributed, train_lib

STEPS = 6


def small_config(run):
  dataset, _, method = run.rpartition(":")
  return config_lib.make_config(dataset or "ring", {
      "method": method, "noise_dim": 8, "batch_size": 64, "latent_dim": 4,
      "generator_units": (16, 16), "discriminator_units": (16, 16),
      "estimator_units": (16, 16), "estimator_steps": 2, "unroll_steps": 2,
      "generator_width": 4, "discriminator_width": 4,
      "steps_per_execution": 3, "steps": STEPS, "eval_every": STEPS,
      "checkpoint_every": STEPS})


def trained(config, data, strategy=None):
  """A trainer after config.steps iterations on `data`: Keras fit on one
  device, or the replicated loop (`--strategy mirrored`) under `strategy`."""
  with (strategy or tf.distribute.get_strategy()).scope():
    trainer = train_lib.build_trainer(config)
  if strategy is None:
    train_lib.fit(trainer, config, data, [], callbacks.StopOnNonFinite())
  else:
    distributed.replicated_fit(trainer, strategy, config, data, [],
                               verbose=False)
  return trainer


def state_variables(trainer):
  """Every variable a checkpoint holds, in a fixed order."""
  variables = []
  for network in trainer.networks().values():
    variables += network.variables
  for optimizer in trainer.optimizers().values():
    variables += optimizer.variables
  return variables + [trainer.seed_generator.state]


def largest_difference(variables_a, variables_b):
  """Largest |a - b| / max(1, |a|) over all elements (Adam's second moments
  reach hundreds, where float32 rounding alone is 1e-5 in absolute terms)."""
  return max(float((abs(a.numpy() - b.numpy()) / np.maximum(1, abs(a.numpy()))).max())
             for a, b in zip(variables_a, variables_b, strict=True)
             if "float" in str(a.dtype))


def main(runs):
  report = {}
  # One strategy per process: a second one would reuse collective keys.
  strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
  for run in runs:
    config = small_config(run)
    # Loaded once for both runs: batch i depends only on (seed, i), and
    # loading the 128,000 stacked images takes seconds.
    data = train_lib.load_data(config)
    one = trained(config, data)
    two = trained(config, data, strategy)
    report[run] = {
        # every network, optimizer slot and counter, and the random state
        "max_difference": largest_difference(state_variables(one),
                                             state_variables(two)),
        "generator_moved": largest_difference(
            one.generator.variables,
            train_lib.build_trainer(config).generator.variables),
        "replicas": two.distribute_strategy.num_replicas_in_sync,
        "steps": checkpointing.step_of(two)}
  print(json.dumps(report))


if __name__ == "__main__":
  main(sys.argv[1:])
