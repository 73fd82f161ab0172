"""Iterations per second on one device against N replicas (MirroredStrategy).

Side by side in one process, same global batch: the default strategy
through Keras fit, one replica and N replicas through `replicated_fit` (the
loop --strategy mirrored uses). Replicas are the visible GPUs, or with
--logical-cpus N the CPU split into N logical devices (which share the same
cores: that checks the machinery, it cannot speed anything up). Run:

  python benchmarks/replica_scaling.py [--method lbt-gan] [--iterations 100]
  python benchmarks/replica_scaling.py --logical-cpus 2 --iterations 30
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import tensorflow as tf  # pylint: disable=g-import-not-at-top


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--method", default="lbt-gan")
  parser.add_argument("--dataset", default="ring")
  parser.add_argument("--batch-size", type=int, default=512, help="global batch")
  parser.add_argument("--iterations", type=int, default=100)
  parser.add_argument("--logical-cpus", type=int, default=0)
  args = parser.parse_args()
  if args.logical_cpus:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * args.logical_cpus)
    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
  else:
    devices = [d.name for d in tf.config.list_logical_devices("GPU")] or [
        tf.config.list_logical_devices("CPU")[0].name]

  from lbt_tf import callbacks, config as config_lib, distributed  # pylint: disable=g-import-not-at-top
  from lbt_tf.data import mixtures
  from lbt_tf import train_lib

  config = config_lib.make_config(args.dataset, dict(
      method=args.method, batch_size=args.batch_size, steps=args.iterations,
      eval_every=args.iterations, checkpoint_every=args.iterations))
  mixture = mixtures.of_config(config)

  def seconds_per_iteration(strategy):
    with strategy.scope():
      trainer = train_lib.build_trainer(config)
    warm_up = config_lib.Config(**{**config.__dict__,
                                   "steps": config.steps_per_execution,
                                   "eval_every": config.steps_per_execution,
                                   "checkpoint_every": config.steps_per_execution})
    timed = config_lib.Config(**{**config.__dict__,
                                 "steps": config.steps_per_execution + args.iterations,
                                 "eval_every": config.steps_per_execution})
    if strategy is None or not distributed.is_replicated(strategy):
      data = mixtures.training_batches(mixture, config.batch_size, config.seed)
      trainer.fit(data, steps_per_epoch=config.steps_per_execution, epochs=1, verbose=0)
      start = time.perf_counter()
      trainer.fit(data, steps_per_epoch=args.iterations, epochs=1, verbose=0)
    else:
      guard = [callbacks.StopOnNonFinite()]
      distributed.replicated_fit(trainer, strategy, warm_up, mixture, guard, verbose=False)
      start = time.perf_counter()
      distributed.replicated_fit(trainer, strategy, timed, mixture, guard, verbose=False)
    return (time.perf_counter() - start) / args.iterations

  rows = [("default (Keras fit)", 1, seconds_per_iteration(tf.distribute.get_strategy())),
          ("mirrored, 1 replica", 1,
           seconds_per_iteration(tf.distribute.MirroredStrategy(devices[:1])))]
  if len(devices) > 1:
    rows.append((f"mirrored, {len(devices)} replicas", len(devices),
                 seconds_per_iteration(tf.distribute.MirroredStrategy(devices))))
  one = rows[1][2]
  print(f"\n{args.method} on {args.dataset}, global batch {args.batch_size}, "
        f"{args.iterations} iterations, devices: {', '.join(devices)}")
  print(f"{'strategy':<24}{'replicas':>9}{'ms/iteration':>14}{'it/s':>8}{'x 1 replica':>13}")
  for name, replicas, seconds in rows:
    print(f"{name:<24}{replicas:>9}{1e3 * seconds:>14.1f}{1 / seconds:>8.1f}"
          f"{one / seconds:>13.2f}")


if __name__ == "__main__":
  main()
