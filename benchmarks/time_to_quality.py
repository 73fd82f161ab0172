"""Time to quality: how long each method needs to reach a stated result.

Trains each row (a method, estimator and hypergradient) on each dataset for
each seed, one run at a time in this process, scoring the generator every
--every iterations, and records the iterations and the wall time (tracing
and compiling included, the scoring not) at which it first meets the
dataset's target:

  ring          all 8 modes covered (20% rule) and >= 80% high-quality samples
  veegan-ring   all 8 modes with at least one high-quality sample of 2,500
  veegan-grid   all 25 modes with at least one high-quality sample of 2,500
  grid          >= 90 of 100 modes covered (20% rule), >= 60% high quality

Prints, per dataset and row, the median over seeds of iterations and
seconds to the target (with how many seeds reached it within --budget) and
the steady per-iteration cost. Run it alone on the machine.

  python benchmarks/time_to_quality.py [--datasets ring,veegan-ring] [--seeds 0,1,2]
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

TARGETS = {
    "ring": ("8/8 modes, >= 80% HQ",
             lambda m: m["modes_covered"] == 8 and m["high_quality_percent"] >= 80),
    "veegan-ring": ("8/8 modes (>= 1 sample of 2,500)",
                    lambda m: m["modes_with_any_sample"] == 8),
    "veegan-grid": ("25/25 modes (>= 1 sample of 2,500)",
                    lambda m: m["modes_with_any_sample"] == 25),
    "grid": (">= 90/100 modes, >= 60% HQ",
             lambda m: m["modes_covered"] >= 90 and m["high_quality_percent"] >= 60),
}
SAMPLES = {"veegan-ring": 2500, "veegan-grid": 2500}  # the protocol's count
ROWS = {
    "gan": {"method": "gan"},
    "unrolled-gan (unroll)": {"method": "unrolled-gan"},
    "lbt-gan vae unroll": {"method": "lbt-gan", "estimator": "vae"},
    "lbt-gan vae truncated T=1": {"method": "lbt-gan", "estimator": "vae",
                                    "hypergradient": "truncated", "truncate_steps": 1},
    "lbt-gan vae implicit": {"method": "lbt-gan", "estimator": "vae",
                               "hypergradient": "implicit"},
    "lbt (preset estimator)": {"method": "lbt"},
    "lbt-gan (preset estimator)": {"method": "lbt-gan"},
}


def time_to_target(dataset, overrides, seed, budget, every):
  """(iterations, seconds) to the target, or None; and seconds per iteration."""
  from lbt_tf import config as config_lib, train_lib  # pylint: disable=g-import-not-at-top
  from lbt_tf.data import mixtures  # pylint: disable=g-import-not-at-top
  from lbt_tf.metrics import scoring  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  config = config_lib.make_config(dataset, dict(overrides, seed=seed, steps=budget,
                                                eval_every=every))
  trainer = train_lib.build_trainer(config)
  mixture = mixtures.of_config(config)
  scorer = scoring.MixtureScorer(config, mixture, ".", trainer.noise_dim)
  generate = tf.function(lambda z: trainer.generator(z, training=False))
  reached = None
  _, met = TARGETS[dataset]
  clock, step, last_chunk = 0.0, 0, None
  while step < budget:
    batches = mixtures.training_batches(
        mixture, config.batch_size * trainer.batches_per_iteration, seed, start=step)
    start = time.perf_counter()
    trainer.fit(batches, steps_per_epoch=every, epochs=1, verbose=0)
    last_chunk = time.perf_counter() - start
    clock += last_chunk
    step += every
    metrics = scorer.score(scorer.samples(generate, SAMPLES.get(dataset, 50_000)))
    if met(metrics):
      reached = (step, clock)
      break
  return reached, last_chunk / every


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--datasets", default="ring,veegan-ring,veegan-grid")
  parser.add_argument("--rows", default=",".join(ROWS), help="which rows, comma-separated (names above)")
  parser.add_argument("--seeds", default="0,1,2")
  parser.add_argument("--budget", type=int, default=5000, help="iterations at most")
  parser.add_argument("--every", type=int, default=250, help="iterations between scorings")
  parser.add_argument("--json", help="also write every run's numbers here")
  args = parser.parse_args()
  datasets = args.datasets.split(",")
  rows = [r for r in args.rows.split(",") if r]
  seeds = [int(s) for s in args.seeds.split(",")]

  runs = {}
  for dataset in datasets:
    for row in rows:
      for seed in seeds:
        reached, per_iteration = time_to_target(dataset, ROWS[row], seed, args.budget,
                                                args.every)
        runs[f"{dataset} | {row} | {seed}"] = {"reached": reached,
                                               "ms_per_iteration": 1e3 * per_iteration}
        print(json.dumps({"dataset": dataset, "row": row, "seed": seed,
                          "reached": reached, "ms_per_it": round(1e3 * per_iteration, 1)}),
              flush=True)

  print(f"\nbudget {args.budget} iterations, scored every {args.every}; "
        f"median over seeds {seeds}; wall time includes tracing and compiling")
  for dataset in datasets:
    print(f"\n{dataset}: {TARGETS[dataset][0]}")
    print(f"{'':<30}{'reached':>9}{'iterations':>12}{'seconds':>10}{'ms/it':>8}")
    for row in rows:
      results = [runs[f"{dataset} | {row} | {s}"] for s in seeds]
      hits = [r["reached"] for r in results if r["reached"]]
      cost = statistics.median(r["ms_per_iteration"] for r in results)
      if hits:
        iterations = statistics.median(h[0] for h in hits)
        seconds = statistics.median(h[1] for h in hits)
        print(f"{row:<30}{len(hits):>5} of {len(seeds)}{iterations:>12.0f}{seconds:>10.0f}{cost:>8.1f}")
      else:
        print(f"{row:<30}{0:>5} of {len(seeds)}{'-':>12}{'-':>10}{cost:>8.1f}")
  if args.json:
    with open(args.json, "w") as f:
      json.dump(runs, f, indent=2)


if __name__ == "__main__":
  main()
