"""Cost of one training iteration, side by side, against a plain GAN.

Times, in one process and at the ring preset's sizes (batch 512), the
steady-state milliseconds per iteration (every row built first, then timed
in interleaved rounds, each row's fastest kept: a load that comes and goes
touches every row alike) and the first call (trace, compile and one
compiled call of 10 iterations) of:

  methods          every registered method (LBT and LBT-GAN with the preset's
                   estimator, the KDE teacher);
  estimators       LBT-GAN with each estimator;
  hypergradients   LBT-GAN (VAE) with each way of differentiating the teaching step;

then, each in a fresh process, LBT-GAN (VAE) with
K = 1, 5, 20 and 50 unrolled steps, symbolic loop and Python loop: first-call
seconds and the peak resident memory of that first call (VmHWM, reset once
the trainer is built; Linux). Prints ratios; run alone
on the machine.

  python benchmarks/iteration_cost.py [--iterations 50] [--rounds 3] [--skip-flow]
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ESTIMATOR_ROWS = ("vae", "iwae", "flow", "mixture", "kde")
HYPERGRADIENT_ROWS = {
    "unroll (symbolic loop)": {"hypergradient": "unroll"},
    "unroll (python loop)": {"hypergradient": "unroll", "unroll_loop": "python"},
    "truncated, T = 1": {"hypergradient": "truncated", "truncate_steps": 1},
    "implicit, 10 CG steps": {"hypergradient": "implicit"},
    "implicit, outer-product": {"hypergradient": "implicit", "implicit_solver": "outer-product"},
}


def ring_config(**overrides):
  """The ring preset's config with `overrides`, as every row is built."""
  from lbt_tf import config as config_lib  # pylint: disable=g-import-not-at-top
  return config_lib.make_config("ring", dict(overrides, steps=100, eval_every=100))


def build(**overrides):
  """A trainer at the ring preset's sizes and its endless batches."""
  from lbt_tf import train_lib  # pylint: disable=g-import-not-at-top
  from lbt_tf.data import mixtures  # pylint: disable=g-import-not-at-top
  config = ring_config(**overrides)
  trainer = train_lib.build_trainer(config)
  data = mixtures.training_batches(mixtures.of_config(config),
                                   config.batch_size * trainer.batches_per_iteration, 0)
  return trainer, data


def time_rows(rows, iterations, rounds):
  """{row: (first call seconds, best seconds per iteration)}: every row of
  `rows` (key -> settings) built first, then timed in `rounds` interleaved
  rounds of `iterations` (a load that comes and goes touches every row
  alike), each row's fastest round kept."""
  from lbt_tf import costs  # pylint: disable=g-import-not-at-top
  timers = {name: costs.Timer(ring_config(**overrides), report=lambda _: None)
            for name, overrides in rows.items()}
  best = {name: float("inf") for name in rows}
  for _ in range(rounds):
    for name, timer in timers.items():
      best[name] = min(best[name], timer.time(iterations) / 1e3)
  return {name: (timer.first_call[timer.phases[-1]], best[name])
          for name, timer in timers.items()}


def print_table(title, rows, gan_ms):
  print(f"\n{title}")
  print(f"{'':<28}{'ms/iteration':>14}{'x GAN':>8}{'first call s':>14}")
  for name, (first, per) in rows.items():
    print(f"{name:<28}{1e3 * per:>14.1f}{1e3 * per / gan_ms:>8.1f}{first:>14.1f}")


def peak_rss_mib() -> float:
  """This process's peak resident memory since the last reset (Linux)."""
  status = pathlib.Path("/proc/self/status").read_text()
  return int(status.split("VmHWM:")[1].split()[0]) / 1024


def one_process(k, loop):
  """First-call seconds of LBT-GAN with K steps, and the peak memory of that
  call above the built trainer (run as a child: peaks are per process)."""
  trainer, data = build(method="lbt-gan", estimator="vae", unroll_steps=k, unroll_loop=loop)
  before = peak_rss_mib()
  pathlib.Path("/proc/self/clear_refs").write_text("5")  # reset the peak to now
  start = time.perf_counter()
  trainer.fit(data, steps_per_epoch=10, epochs=1, verbose=0)
  first = time.perf_counter() - start
  print(json.dumps({"first_s": first, "peak_mib": peak_rss_mib(), "built_mib": before}))


def in_fresh_process(k, loop):
  out = subprocess.run([sys.executable, __file__, "--child", str(k), loop],
                       capture_output=True, text=True, check=True)
  return json.loads(out.stdout.strip().splitlines()[-1])


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--iterations", type=int, default=50)
  parser.add_argument("--rounds", type=int, default=3,
                      help="interleaved rounds; each row keeps its fastest")
  parser.add_argument("--skip-flow", action="store_true",
                      help="leave out the spline flow (about 2 minutes to compile)")
  parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
  parser.add_argument("--json", help="also write the numbers here")
  args = parser.parse_args()
  if args.child:
    one_process(int(args.child[0]), args.child[1])
    return

  from lbt_tf.methods import METHODS  # pylint: disable=g-import-not-at-top
  methods = ("gan",) + tuple(m for m in METHODS.names() if m != "gan")
  estimators = [e for e in ESTIMATOR_ROWS if not (e == "flow" and args.skip_flow)]
  rows = {"methods": {method: {"method": method} for method in methods},
          "estimators": {e: {"method": "lbt-gan", "estimator": e} for e in estimators},
          "hypergradients": {name: dict(overrides, method="lbt-gan", estimator="vae")
                             for name, overrides in HYPERGRADIENT_ROWS.items()}}
  # One interleaved set: the GAN row is the reference of all three tables.
  timed = time_rows({(table, name): settings for table, named in rows.items()
                     for name, settings in named.items()}, args.iterations, args.rounds)
  results = {table: {name: timed[table, name] for name in named} for table, named in rows.items()}
  results["unroll_length"] = {}
  gan_ms = 1e3 * results["methods"]["gan"][1]

  print(f"ring preset (batch 512, K = 5; trained estimators M = 10), best of "
        f"{args.rounds} interleaved rounds of {args.iterations} iterations")
  print_table("methods (LBT, LBT-GAN: KDE)", results["methods"], gan_ms)
  print_table("LBT-GAN, by estimator", results["estimators"], gan_ms)
  print_table("LBT-GAN (VAE), by hypergradient", results["hypergradients"], gan_ms)

  print("\nLBT-GAN (VAE) by unroll length K, each in a fresh process")
  print(f"{'K':>4}{'loop':>10}{'first call s':>14}{'peak MiB':>10}")
  for loop in ("symbolic", "python"):
    for k in (1, 5, 20, 50):
      row = results["unroll_length"][f"{loop} K={k}"] = in_fresh_process(k, loop)
      print(f"{k:>4}{loop:>10}{row['first_s']:>14.1f}{row['peak_mib']:>10.0f}")
  for loop in ("symbolic", "python"):
    rows = {k: results["unroll_length"][f"{loop} K={k}"] for k in (1, 5, 20, 50)}
    grow = lambda k: rows[k]["peak_mib"] - rows[1]["peak_mib"]
    print(f"{loop}: first call K=20 / K=5 {rows[20]['first_s'] / rows[5]['first_s']:.2f}, "
          f"K=50 / K=5 {rows[50]['first_s'] / rows[5]['first_s']:.2f}; peak memory "
          f"K=20 / K=5 {rows[20]['peak_mib'] / rows[5]['peak_mib']:.2f} "
          f"(above K=1: {grow(5):.0f} MiB at K=5, {grow(20):.0f} at K=20, {grow(50):.0f} at K=50)")
  if args.json:
    with open(args.json, "w") as f:
      json.dump(results, f, indent=2)


if __name__ == "__main__":
  main()
