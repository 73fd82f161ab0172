"""Cost of one training iteration on images, side by side, against a GAN.

Times, in one process, the steady-state milliseconds per iteration of each
image method at the stacked presets' sizes (stacked Fashion-MNIST, 28x28x3,
batch 64, the authors' G and D) and at CelebA's (a folder of 64x64 images
this script writes, the preset's DCGAN nets, batch 64): GAN, PacGAN,
Unrolled GAN, WGAN-GP, ALI, VGAN, BRC-GAN, and LBT-GAN with each image
teacher and hypergradient in `ROWS`. LBT-GAN is timed after its warm-up (the teaching iterations; a
warm-up iteration is a GAN iteration). Rows run interleaved, `--rounds`
times, and each keeps its best round, so a load that comes and goes touches
every row alike; ratios to the GAN of the same dataset are printed, with
the cores the process kept busy in the kept round (its CPU seconds over its
wall seconds: near the machine's core count when nothing stalled it). Run
it alone on the machine.

  python benchmarks/image_cost.py [--iterations 10] [--rounds 2] [--skip-celeba | --skip-stacked]
      [--rows "lbt-gan, kernel on pixels (K = 5);lbt-gan, VAE (authors' M = 15, K = 5)"]

`--rows`: some rows only, by name, separated by ";" (the GAN row is always
timed: it is what the ratios divide by).
"""

import argparse
import json
import os
import pathlib
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

KERNEL = {"method": "lbt-gan", "estimator": "kde", "bandwidth": 7.0,
          "final_bandwidth": 1.0, "anneal_steps": 1000}
ROWS = {
    "gan": {"method": "gan"},
    "pacgan": {"method": "pacgan"},
    "unrolled-gan": {"method": "unrolled-gan"},
    "wgan-gp": {"method": "wgan-gp"},
    "ali": {"method": "ali"},
    "vgan": {"method": "vgan"},
    "brc-gan": {"method": "brc-gan"},
    "lbt-gan, VAE (authors' M = 15, K = 5)": {"method": "lbt-gan", "estimator": "vae"},
    "lbt-gan, VAE, M = 3": {"method": "lbt-gan", "estimator": "vae", "estimator_steps": 3},
    "lbt-gan, VAE, truncated T = 1": {"method": "lbt-gan", "estimator": "vae",
                                      "hypergradient": "truncated"},
    "lbt-gan, VAE, implicit outer-product": {
        "method": "lbt-gan", "estimator": "vae", "hypergradient": "implicit",
        "implicit_solver": "outer-product"},
    # The kernel teacher on flattened pixels: no estimator, no unroll; its
    # centres are K = 5 batches of generator samples (the bandwidths do not
    # change the cost).
    "lbt-gan, kernel on pixels (K = 5)": KERNEL,
    "lbt-gan, kernel on pixels (K = 1)": dict(KERNEL, unroll_steps=1),
}


def celeba_like_folder(root: pathlib.Path, count: int = 256) -> str:
  """`count` random 64x64 PNGs: the cost does not depend on the pixels."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  for i in range(count):
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    tf.io.write_file(str(root / f"{i:04d}.png"), tf.io.encode_png(image))
  return str(root)


def timers(dataset, rows, **shared):
  """row -> its `lbt_tf.costs.Timer` (a built trainer, kept between rounds)."""
  from lbt_tf import config as config_lib, costs  # pylint: disable=g-import-not-at-top
  made = {}
  for name, overrides in rows.items():
    config = config_lib.make_config(dataset, dict(shared, **overrides))
    made[name] = costs.Timer(config, report=lambda _: None)
  return made


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--iterations", type=int, default=10)
  parser.add_argument("--rounds", type=int, default=2)
  parser.add_argument("--skip-celeba", action="store_true")
  parser.add_argument("--skip-stacked", action="store_true")
  parser.add_argument("--rows", help="rows to time, by name, separated by ';' (default: all)")
  parser.add_argument("--json", help="also write the numbers here")
  args = parser.parse_args()
  rows = ROWS
  if args.rows:
    names = ["gan"] + [name for name in args.rows.split(";") if name != "gan"]
    unknown = [name for name in names if name not in ROWS]
    if unknown:
      parser.error(f"unknown row {unknown[0]!r}; the rows: {'; '.join(ROWS)}")
    rows = {name: ROWS[name] for name in names}

  settings = {} if args.skip_stacked else {"stacked_fashion_mnist": {}}
  with tempfile.TemporaryDirectory() as folder:
    if not args.skip_celeba:
      settings["folder"] = {"data_dir": celeba_like_folder(pathlib.Path(folder)),
                            "batch_size": 64}
    results = {}
    for dataset, shared in settings.items():
      made = timers(dataset, rows, **shared)
      best = {name: float("inf") for name in made}
      busy = {}  # row -> cores busy in its kept round
      for _ in range(args.rounds):
        for name, timer in made.items():  # interleaved: load hits every row
          cpu, wall = time.process_time(), time.perf_counter()
          ms = timer.time(args.iterations)
          if ms < best[name]:
            best[name] = ms
            busy[name] = (time.process_time() - cpu) / (time.perf_counter() - wall)
      results[dataset] = best
      gan = best["gan"]
      print(f"\n{dataset} (batch {made['gan'].config.batch_size}, "
            f"{'x'.join(map(str, made['gan'].shape))}), best of {args.rounds} x "
            f"{args.iterations} iterations, interleaved")
      print(f"{'':<40}{'ms/iteration':>14}{'x GAN':>8}{'cores busy':>12}")
      for name, ms in best.items():
        print(f"{name:<40}{ms:>14.1f}{ms / gan:>8.1f}{busy[name]:>12.2f}")
  if args.json:
    pathlib.Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
  main()
