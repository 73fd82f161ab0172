"""Cost of one training iteration: every method against a plain GAN.

Times, side by side in one process and at the same sizes (the ring preset
unless overridden), the steady-state seconds per iteration of each method and
the time to trace and compile the LBT step for K = 5 and K = 20, then prints
ratios. Run:

  python benchmarks/iteration_cost.py [--batch-size 512] [--iterations 200]
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from lbt_tf import config as config_lib  # pylint: disable=g-import-not-at-top
from lbt_tf.data import mixtures
from lbt_tf import train_lib


def time_method(method, iterations, repeats, **overrides):
  """(first call seconds = trace + compile + one execution, s/iteration)."""
  spe = overrides.get("steps_per_execution", 10)
  config = config_lib.make_config("ring", dict(
      method=method, steps=iterations, eval_every=iterations, **overrides))
  trainer = train_lib.build_trainer(config)
  data = mixtures.training_batches(mixtures.of_config(config),
                                   config.batch_size, config.seed)
  start = time.perf_counter()
  trainer.fit(data, steps_per_epoch=spe, epochs=1, verbose=0)
  first = time.perf_counter() - start
  per_iteration = []
  for _ in range(repeats):
    start = time.perf_counter()
    trainer.fit(data, steps_per_epoch=iterations, epochs=1, verbose=0)
    per_iteration.append((time.perf_counter() - start) / iterations)
  return first, min(per_iteration)


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--batch-size", type=int, default=512)
  parser.add_argument("--iterations", type=int, default=200)
  parser.add_argument("--repeats", type=int, default=2)
  parser.add_argument("--jit-compile", action="store_true")
  parser.add_argument("--json", help="also write the numbers here")
  args = parser.parse_args()
  sizes = dict(batch_size=args.batch_size, jit_compile=args.jit_compile)

  results = {}
  for method in ("gan", *(m for m in config_lib.METHODS if m != "gan")):
    first, per_it = time_method(method, args.iterations, args.repeats, **sizes)
    results[method] = {"first_call_s": first, "ms_per_iteration": 1e3 * per_it}
  for k in (5, 20):
    first, per_it = time_method("lbt-gan", 10, 1, unroll_steps=k, **sizes)
    results[f"lbt-gan K={k}"] = {"first_call_s": first,
                                 "ms_per_iteration": 1e3 * per_it}

  gan = results["gan"]["ms_per_iteration"]
  print(f"\nbatch {args.batch_size}, ring preset sizes, jit_compile="
        f"{args.jit_compile}, best of {args.repeats} x {args.iterations} iterations")
  print(f"{'method':<16}{'ms/iteration':>14}{'x GAN':>8}{'compile s':>11}")
  for name, r in results.items():
    print(f"{name:<16}{r['ms_per_iteration']:>14.1f}"
          f"{r['ms_per_iteration'] / gan:>8.2f}{r['first_call_s']:>11.1f}")
  k5, k20 = results["lbt-gan K=5"], results["lbt-gan K=20"]
  print(f"compile time K=20 / K=5: {k20['first_call_s'] / k5['first_call_s']:.2f}")
  if args.json:
    with open(args.json, "w") as f:
      json.dump(results, f, indent=2)


if __name__ == "__main__":
  main()
