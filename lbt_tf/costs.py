"""What an iteration costs, and how many iterations a training-time budget buys.

`iteration_cost(config)` times a method's steady-state milliseconds per
iteration in each phase of its step (LBT-GAN's warm-up is a GAN iteration;
the rest a full LBT iteration), after the step has been traced. Run it in a
process of its own, with nothing else training, so that the numbers are the
method's and not the machine's: `python -m lbt_tf.costs --dataset D --method
M [--set FIELD=VALUE ...]` prints them as one line of JSON.

`iterations_for(seconds, cost, ...)` turns a training-time budget into an
iteration count from those costs: the comparison harness's equal wall time
(`lbt_tf.comparison`), which stays the same on a busy machine because it is
decided once, from costs measured alone, and stored.
"""

import json
import math
import sys
import time


class Timer:
  """A built trainer of `config`, fed its own batches, that times its
  iterations in any phase (the phase is entered by setting the iteration
  counter; the step of a phase is traced, and run one compiled call,
  before it is timed)."""

  def __init__(self, config, report=print):
    from lbt_tf import train_lib  # pylint: disable=g-import-not-at-top (TensorFlow)
    from lbt_tf.data import mixtures  # pylint: disable=g-import-not-at-top
    self.config = config
    self.report = report
    data = train_lib.load_data(config, report=lambda _: None)
    self.shape = tuple(data.shape) if hasattr(data, "shape") else (2,)
    self.trainer = train_lib.build_trainer(config)
    self.batches = mixtures.training_batches(
        data, config.batch_size * self.trainer.batches_per_iteration, config.seed)
    self.chunk = config.execution_steps
    self.phases = (0,) + tuple(self.trainer.phase_changes())
    self.first_call = {}  # phase start -> seconds of its first call (trace, compile, a call)

  def time(self, iterations: int, start=None) -> float:
    """Milliseconds per iteration over `iterations` (rounded to whole
    compiled calls) from iteration `start` (default: the last phase's)."""
    start = self.phases[-1] if start is None else start
    iterations = max(self.chunk, iterations // self.chunk * self.chunk)
    if start not in self.first_call:
      self._enter(start)
      clock = time.perf_counter()
      self.trainer.fit(self.batches, steps_per_epoch=self.chunk, epochs=1, verbose=0)
      self.first_call[start] = time.perf_counter() - clock
      self.report(f"{self.config.method} from iteration {start}: first call "
                  f"{self.first_call[start]:.1f} s")
    self._enter(start)
    clock = time.perf_counter()
    self.trainer.fit(self.batches, steps_per_epoch=iterations, epochs=1, verbose=0)
    return 1e3 * (time.perf_counter() - clock) / iterations

  def _enter(self, start: int):
    """Put a method with phases (a GAN-family trainer's warm-up) at
    iteration `start`; a method without (the estimator alone) has one."""
    if len(self.phases) > 1:
      self.trainer.generator_optimizer.iterations.assign(start)


def iteration_cost(config, iterations: int = 20, repeats: int = 5, report=print) -> dict:
  """Milliseconds per iteration of `config`'s method, best of `repeats` runs
  of `iterations`, per phase: {"phases": {first iteration of phase: ms}, ...}.

  The best of 5, not of 2: on the 2-vCPU machine this was built on, a
  compiled call now and then lasts a whole multiple of about 0.26 s, an
  upward-only delay (one process timed a GAN on stacked Fashion-MNIST at
  128.9, 118.1, 256.7 and 113.6 ms/iteration in turn, and a plan made with
  the best of 2 put the kernel teacher at 256.5 ms where it then measured
  159 and 166). The least of more runs is the method's cost."""
  timer = Timer(config, report)
  phases = {}
  for start in timer.phases:
    phases[start] = min(timer.time(iterations, start) for _ in range(repeats))
    report(f"{config.method} from iteration {start}: {phases[start]:.1f} ms/iteration")
  return {"phases": phases, "iterations_timed": iterations, "repeats": repeats}


def iterations_for(seconds: float, phases: dict) -> int:
  """Iterations that fit in `seconds` of training when the iterations from
  each key of `phases` (first iteration -> ms per iteration) on cost that."""
  starts = sorted(phases)
  done, left = 0, seconds * 1e3
  for i, start in enumerate(starts):
    end = starts[i + 1] if i + 1 < len(starts) else math.inf
    affordable = left / phases[start]
    if affordable < end - start:
      return done + int(affordable)
    done, left = end, left - (end - start) * phases[start]
  return done


def seconds_for(iterations: int, phases: dict) -> float:
  """The training seconds `iterations` cost at `phases`' rates (the inverse
  of `iterations_for`)."""
  starts = sorted(phases) + [math.inf]
  total = 0.0
  for start, end in zip(starts, starts[1:]):
    total += max(0, min(iterations, end) - start) * phases[start] / 1e3
  return total


def main(argv=None):
  """Print the cost of one run configuration as JSON (for the harness)."""
  import argparse  # pylint: disable=g-import-not-at-top
  from lbt_tf import config as config_lib  # pylint: disable=g-import-not-at-top
  parser = argparse.ArgumentParser(prog="lbt_tf.costs", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--dataset", required=True)
  parser.add_argument("--method", required=True)
  parser.add_argument("--iterations", type=int, default=20,
                      help="iterations per timed run (whole compiled calls)")
  parser.add_argument("--repeats", type=int, default=5,
                      help="timed runs per phase, the fastest kept")
  parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
  args = parser.parse_args(sys.argv[1:] if argv is None else argv)
  overrides = {"method": args.method}
  for item in args.set:
    name, _, text = item.partition("=")
    overrides[name] = config_lib.parse_value(name, text)
  config = config_lib.make_config(args.dataset, overrides)
  cost = iteration_cost(config, args.iterations, args.repeats,
                        report=lambda m: print(m, file=sys.stderr))
  print(json.dumps(cost))


if __name__ == "__main__":
  main()
