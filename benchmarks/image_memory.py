"""Peak memory of image training, GAN against LBT-GAN's teachers, at CelebA's size.

Each row traces every phase of its step and runs it for `--iterations`
iterations, in one compiled call, twice (`python -m lbt_tf.costs
--repeats 1` with that many iterations per compiled call), in a process of
its own, on a folder of 64x64 images this script writes, and
its peak resident memory (the process's maxrss) is printed with the
difference to the GAN's. The kernel teacher's pairwise sums are taken in
blocks (`lbt_tf.estimators.kde.BLOCK_PAIRS`), so what grows with the batch
is the generator's K x batch samples, linearly.

  python benchmarks/image_memory.py [--batch-size 512] [--iterations 2]
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from image_cost import KERNEL, celeba_like_folder  # pylint: disable=wrong-import-position

ROWS = {  # name: (what it is, settings)
    "gan": ("GAN", {"method": "gan"}),
    "kernel": ("LBT-GAN, kernel on pixels (K = 5)", KERNEL),
    "vae": ("LBT-GAN, VAE (authors' M = 15, K = 5)", {"method": "lbt-gan", "estimator": "vae"}),
}


def peak_mb(overrides, folder, batch_size, iterations) -> float:
  """maxrss in MiB of one `lbt_tf.costs` process with these settings."""
  overrides = dict(overrides, batch_size=batch_size, data_dir=folder,
                   steps_per_execution=iterations)
  method = overrides.pop("method")
  command = [sys.executable, "-m", "lbt_tf.costs", "--dataset", "folder", "--method", method,
             "--iterations", str(iterations), "--repeats", "1"] + [f"--set={k}={v}" for k, v in overrides.items()]
  # A fresh process per row, and RUSAGE_CHILDREN's maxrss is the largest child's
  # so far: read it from a wrapper that runs only this child.
  wrapper = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
             "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
  result = subprocess.run([sys.executable, "-c", wrapper] + command, capture_output=True,
                          text=True, check=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  return int(result.stdout.strip()) / 1024  # KiB on Linux


def main():
  parser = argparse.ArgumentParser(description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--batch-size", type=int, default=512)  # the celeb_a preset's
  parser.add_argument("--iterations", type=int, default=2)
  parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated, from gan, kernel, vae")
  args = parser.parse_args()
  with tempfile.TemporaryDirectory() as folder:
    celeba_like_folder(pathlib.Path(folder))
    peaks = {}
    for name in args.rows.split(","):
      label, settings = ROWS[name]
      peaks[name] = peak_mb(settings, folder, args.batch_size, args.iterations)
      print(f"{label:<42}{peaks[name]:>10.0f} MiB peak"
            + (f"  ({peaks[name] - peaks['gan']:+.0f} vs GAN)"
               if "gan" in peaks and name != "gan" else ""),
            flush=True)
  print(json.dumps(peaks))


if __name__ == "__main__":
  main()
