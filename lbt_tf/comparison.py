"""The method comparison: methods x datasets x seeds at an equal budget, and
its tables and figures (`python -m lbt_tf.compare`).

Each run is an ordinary `python -m lbt_tf.train` process with its own run
directory `WORKDIR/<dataset>/<method>/seed-<seed>`, so a run can be inspected,
re-scored (`python -m lbt_tf.evaluate`) or resumed on its own. A run whose
`metrics.json` reports the full number of steps is finished and is not redone;
an interrupted one resumes from its checkpoint. Every run of a dataset uses
the dataset's preset (same generator, same discriminator widths, same batch)
plus the comparison's shared settings.

The budget is equal iterations (`steps`, or each dataset's preset), or equal
training time (`seconds`): then each row's iterations are bought with its
cost per iteration, measured per dataset and row by `lbt_tf.costs` in a
process of its own, in interleaved rounds (`plan_budget`), before any
training (nothing else of the comparison running), and stored in
WORKDIR/budget.json. A resumed comparison reuses
them, so a busy machine later changes how long the runs take, not what they
are.
"""

import dataclasses
import datetime
import json
import math
import os
import pathlib
import platform
import signal
import subprocess
import sys
import time
from typing import Dict, List, Tuple

import numpy as np

from lbt_tf import config as config_lib, costs, files, metrics_csv
from lbt_tf.metrics import image_metrics  # NumPy only
from lbt_tf.metrics.mixture_metrics import KL_CAP  # NumPy only

PRESETS_DIR = config_lib.PRESETS_DIR / "comparisons"
COVERAGE = ("modes_covered", "modes_with_any_sample")


@dataclasses.dataclass
class Comparison:
  """A comparison: which runs, and how coverage is counted."""

  datasets: Tuple[str, ...]
  methods: Tuple[str, ...]
  seeds: Tuple[int, ...]
  steps: int = 0  # 0: each dataset's preset budget
  seconds: float = 0.0  # > 0: equal training time instead (budget.json)
  # Equal time: measurements of each row, in interleaved rounds; 0: the
  # stored plan's own (`plan_rounds_of`), or PLAN_ROUNDS for a new plan.
  plan_rounds: int = 0
  coverage: str = "modes_covered"
  settings: Dict[str, object] = dataclasses.field(default_factory=dict)
  description: str = ""
  # (dataset, row) -> {"steps", "eval_every", "phases", ...}: the equal-time
  # plan (`plan_budget`), read from WORKDIR/budget.json.
  budget: Dict[Tuple[str, str], dict] = dataclasses.field(default_factory=dict)

  def validate(self):
    for name in ("datasets", "methods", "seeds"):
      if not getattr(self, name):
        raise ValueError(f"the comparison needs at least one of --{name}")
    if self.seconds < 0 or (self.seconds and self.steps):
      raise ValueError("give the budget as --steps (equal iterations) or --seconds "
                       "(equal training time), not both; --seconds must be positive")
    if self.plan_rounds < 0 or (self.plan_rounds and not self.seconds):
      raise ValueError("--plan-rounds (at least 1) is for an equal-time plan (--seconds), "
                       f"not {self.plan_rounds} with --steps")
    if self.coverage not in COVERAGE:
      raise ValueError(f"unknown coverage rule {self.coverage!r}; choose from "
                       f"{', '.join(COVERAGE)}")
    # Every run's settings must make a valid config, checked before any runs:
    # first what needs no TensorFlow (making each config checks names and
    # ranges), so that a typo is refused at once, then the methods' and
    # estimators' own refusals, which need their code (TensorFlow).
    configs = [self.run_config(dataset, method, self.seeds[0])
               for dataset in self.datasets for method in self.methods]
    from lbt_tf import train_lib  # pylint: disable=g-import-not-at-top
    for config in configs:
      train_lib.check(config)
    return self

  def run_config(self, dataset, row, seed) -> config_lib.Config:
    return config_lib.make_config(dataset, self.overrides(dataset, row, seed))

  def overrides(self, dataset, row, seed) -> dict:
    """The settings a run changes from its dataset's preset."""
    method, settings = parse_row(row)
    overrides = dict(self.settings, **settings, method=method, seed=seed)
    if self.steps:
      overrides["steps"] = self.steps
    planned = self.budget.get((dataset, row))
    if planned:
      overrides.update(steps=planned["steps"], eval_every=planned["eval_every"],
                       checkpoint_every=planned["eval_every"])
    return overrides

  def steps_of(self, dataset, row) -> int:
    """The iterations of `row`'s runs on `dataset`."""
    return self.run_config(dataset, row, self.seeds[0]).steps

  def unplanned(self):
    """(dataset, row) pairs an equal-time comparison has no iterations for yet."""
    if not self.seconds:
      return []
    return [(d, m) for d in self.datasets for m in self.methods if (d, m) not in self.budget]

  def runs(self) -> List[Tuple[str, str, int]]:
    return [(d, m, s) for d in self.datasets for m in self.methods
            for s in self.seeds]


def presets() -> List[str]:
  return sorted(p.stem for p in PRESETS_DIR.glob("*.json"))


def load_preset(name: str, **overrides) -> Comparison:
  """Preset `name` with command-line `overrides` (None values ignored)."""
  path = PRESETS_DIR / f"{name}.json"
  if not path.exists():
    raise ValueError(f"unknown comparison preset {name!r}; choose from "
                     f"{', '.join(presets())}")
  values = json.loads(path.read_text())
  settings = dict(values.get("settings", {}))
  settings.update(overrides.pop("settings", None) or {})
  values["settings"] = settings
  values.update({k: v for k, v in overrides.items() if v is not None})
  for name in ("datasets", "methods", "seeds"):
    values[name] = tuple(values[name])
  return Comparison(**values).validate()


def parse_row(row: str):
  """A row of the comparison: "METHOD" or "METHOD[field=value,...]", a method
  with its own settings (e.g. lbt[estimator=flow]); returns (method, settings)."""
  method, bracket, rest = row.partition("[")
  if not bracket:
    return row, {}
  if not rest.endswith("]"):
    raise ValueError(f"row {row!r}: expected METHOD[field=value,...]")
  settings = {}
  for item in filter(None, rest[:-1].split(",")):
    name, sep, text = item.partition("=")
    name = name.strip().replace("-", "_")
    if not sep or name not in config_lib.field_types():
      raise ValueError(f"row {row!r}: {item!r} is not FIELD=VALUE with a training setting")
    settings[name] = config_lib.parse_value(name, text.strip())
  return method, settings


def split_rows(text: str):
  """Comma-separated rows; commas inside [...] belong to a row's settings."""
  rows, depth, current = [], 0, ""
  for char in text:
    depth += {"[": 1, "]": -1}.get(char, 0)
    if char == "," and depth == 0:
      rows.append(current)
      current = ""
    else:
      current += char
  return tuple(r.strip() for r in rows + [current] if r.strip())


def run_dir(workdir, dataset, row, seed) -> pathlib.Path:
  # "lbt[estimator=flow,unroll_steps=3]" -> lbt+estimator=flow+unroll_steps=3:
  # TensorFlow reads paths as glob patterns, where [ ] are special.
  name = row.replace("[", "+").replace(",", "+").replace("]", "")
  return pathlib.Path(workdir) / dataset / name / f"seed-{seed}"


def log_path(directory: pathlib.Path) -> pathlib.Path:
  """The log of the run in `directory` (WORKDIR/<dataset>/<row>/seed-<s>.log)."""
  return directory.parent / f"{directory.name}.log"


def finished_runs(comparison: Comparison, workdir):
  """(dataset, row, seed, run directory) of `comparison`'s finished runs
  under `workdir`, in `comparison.runs()` order."""
  for dataset, row, seed in comparison.runs():
    directory = run_dir(workdir, dataset, row, seed)
    if finished(directory, comparison.steps_of(dataset, row)):
      yield dataset, row, seed, directory


def finished(directory: pathlib.Path, steps: int) -> bool:
  path = directory / "metrics.json"
  if not path.exists():
    return False
  try:
    return json.loads(path.read_text()).get("step") == steps
  except ValueError:  # half-written by a killed run: redo its evaluation
    return False


def train_command(comparison: Comparison, dataset, row, seed, directory):
  args = [sys.executable, "-m", "lbt_tf.train", "--dataset", dataset,
          "--workdir", str(directory)]
  return args + flags(comparison.overrides(dataset, row, seed))


def flags(overrides: dict) -> list:
  args = []
  for item in _set_items(overrides):
    name, _, value = item.partition("=")
    args += [f"--{config_lib.flag(name)}", value]
  return args


# -- equal training time -------------------------------------------------------

BUDGET_FILE = "budget.json"
PLAN_ROUNDS = 3  # a new equal-time plan's measurements per row
PERIODS = 5  # evaluations (and checkpoints) per equal-time run


def budget_key(dataset, row) -> str:
  return f"{dataset} {row}"


def read_budget(comparison: Comparison, workdir) -> Comparison:
  """`comparison` with the plan stored in WORKDIR/budget.json (if any); a
  plan made for another budget is refused."""
  path = pathlib.Path(workdir) / BUDGET_FILE
  if not comparison.seconds or not path.exists():
    return comparison
  stored = json.loads(path.read_text())
  if stored["seconds"] != comparison.seconds:
    raise ValueError(f"{path} plans {stored['seconds']} s per run, not "
                     f"{comparison.seconds}: use another --workdir")
  plan_rounds_of(stored, comparison.plan_rounds, path)
  plan = {}
  for dataset in comparison.datasets:
    for row in comparison.methods:
      if budget_key(dataset, row) in stored["runs"]:
        plan[(dataset, row)] = stored["runs"][budget_key(dataset, row)]
  return dataclasses.replace(comparison, budget=plan)


def plan_steps(seconds: float, phases: dict) -> Tuple[int, int]:
  """(iterations, evaluation period) that `seconds` of training buy at
  `phases`' costs: a multiple of PERIODS x 10 iterations (so that the
  period is a multiple of the 10 iterations per compiled call), at least one."""
  unit = PERIODS * 10
  steps = max(unit, costs.iterations_for(seconds, phases) // unit * unit)
  return steps, steps // PERIODS


def machine() -> str:
  """This machine's CPU model and core count: an equal-time plan's rows
  must all be measured on one machine."""
  model = ""
  try:
    with open("/proc/cpuinfo") as f:
      model = next((line.split(":", 1)[1].strip() for line in f
                    if line.startswith("model name")), "")
  except OSError:
    pass
  return f"{model or platform.machine()}, {os.cpu_count()} cores"


def check_one_machine(runs: dict, path) -> None:
  """Refuse a plan (budget.json's "runs", with its unfinished rows' rounds)
  whose rows or rounds were measured on different machines (rows from before
  the field was recorded count as any).

  Raises:
    ValueError: naming two of the machines and what to do.
  """
  machines = sorted({entry["machine"] for entry in runs.values() if "machine" in entry})
  if len(machines) > 1:
    raise ValueError(f"{path} would hold rows measured on {machines[0]!r} and on "
                     f"{machines[1]!r}: equal time needs one machine; plan again in a new "
                     "--workdir (and new --records)")


def plan_rounds_of(stored: dict, asked: int, path) -> int:
  """How many rounds the plan `stored` (budget.json's contents, or None for
  none yet) measures each row in: its "plan_rounds", 1 for a plan made
  before rounds were (rows but no field), else `asked` or PLAN_ROUNDS.

  Raises:
    ValueError: `asked` (non-zero) differs from the stored plan's: its rows
      would be priced over different numbers of rounds (the least of more
      measurements is lower), so they would not buy equal time.
  """
  if stored is None:
    return asked or PLAN_ROUNDS
  own = stored.get("plan_rounds", 1 if stored["runs"] else None)
  if own is None:
    return asked or PLAN_ROUNDS
  if asked and asked != own:
    raise ValueError(f"{path} measures each row in {own} round(s), not {asked}: leave out "
                     "--plan-rounds, or plan again in another --workdir")
  return own


def plan_budget(comparison: Comparison, workdir, report=print, on_measured=None) -> Comparison:
  """Measure every (dataset, row) the plan lacks, one process at a time
  (`lbt_tf.costs`, the best of 5 timed runs), in interleaved rounds
  (`plan_rounds_of`, 3 for a new plan): round r measures each such row once
  before round r + 1 measures any, so that a slow spell of the machine (on
  the 2-vCPU machines this was built on, the same row moved by up to 20%
  between times of day) lands on every row's measurements alike, not on one
  row's. A row's cost per phase is the least over its rounds (`plan_row`),
  turned into iterations once its last round is in. WORKDIR/budget.json is
  written after every measurement (unfinished rows' rounds under
  "measuring"), then `on_measured()` called, so an interrupted plan
  resumes at the round it stopped in (and, through --records, on another
  WORKDIR of the same machine: `records.restore`).

  Raises:
    ValueError: a measurement failed; the plan's rows or rounds were
      measured on another machine (`check_one_machine`, checked before any
      measurement); other --plan-rounds than the stored plan's.
  """
  path = pathlib.Path(workdir) / BUDGET_FILE
  comparison = read_budget(comparison, workdir)
  stored = json.loads(path.read_text()) if path.exists() else None
  rounds = plan_rounds_of(stored, comparison.plan_rounds, path)
  stored = stored or {"seconds": comparison.seconds, "runs": {}}
  stored["plan_rounds"] = rounds
  measuring = stored.setdefault("measuring", {})
  todo = comparison.unplanned()
  if todo:
    earlier = {f"{key} round {i + 1}": m for key, taken in measuring.items()
               for i, m in enumerate(taken)}
    check_one_machine({**stored["runs"], **earlier, "this machine": {"machine": machine()}},
                      path)
  for round_ in range(rounds):
    for dataset, row in todo:
      key = budget_key(dataset, row)
      if key in stored["runs"]:
        continue
      taken = measuring.setdefault(key, [])
      if len(taken) > round_ and len(taken) < rounds:
        continue  # this round was measured before an interruption
      if len(taken) <= round_:
        report(f"measuring {dataset} {row}, round {round_ + 1} of {rounds} "
               "(alone: nothing else of the comparison runs)")
        taken.append(_measure(comparison, dataset, row))
      if len(taken) >= rounds:
        stored["runs"][key] = entry = plan_row(comparison.seconds, taken)
        del measuring[key]
        report(f"{dataset} {row}: "
               f"{', '.join(f'{v:.0f} ms from {k}' for k, v in entry['phases'].items())}"
               f" per iteration (least of {len(taken)} rounds) -> {entry['steps']} iterations")
      write_plan(path, stored)
      if on_measured:
        on_measured()
  return read_budget(comparison, workdir)


def _measure(comparison: Comparison, dataset, row) -> dict:
  """One measurement of a row's cost per phase, in a process of its own."""
  overrides = comparison.overrides(dataset, row, comparison.seeds[0])
  method = overrides.pop("method")
  overrides.pop("seed")
  command = [sys.executable, "-m", "lbt_tf.costs", "--dataset", dataset, "--method",
             method] + [f"--set={item}" for item in _set_items(overrides)]
  load = os.getloadavg()[0]
  result = subprocess.run(command, capture_output=True, text=True, check=False)
  if result.returncode:
    tail = result.stderr.strip().splitlines()[-1:] or ["(no output)"]
    raise ValueError(f"measuring {dataset} {row} failed: {tail[0]}")
  cost = json.loads(result.stdout.strip().splitlines()[-1])
  return {"phases": cost["phases"], "iterations_timed": cost["iterations_timed"],
          "repeats": cost["repeats"], "load_average_before": load, "machine": machine(),
          "measured": datetime.datetime.now().isoformat(timespec="seconds")}


def plan_row(seconds: float, measurements: List[dict]) -> dict:
  """A row's plan (budget.json's entry) from its measurements (`lbt_tf.costs`
  output, one per round): each phase at its least cost over the rounds.

  Raises:
    ValueError: the rounds timed different phases (the row's settings
      changed between them).
  """
  rounds = [{int(k): v for k, v in m["phases"].items()} for m in measurements]
  if any(set(r) != set(rounds[0]) for r in rounds):
    raise ValueError(f"a row's rounds timed different phases ({[sorted(r) for r in rounds]}): "
                     "its settings changed between them; plan again in another --workdir")
  phases = {k: min(r[k] for r in rounds) for k in sorted(rounds[0])}
  steps, period = plan_steps(seconds, phases)
  last = measurements[-1]
  return {"steps": steps, "eval_every": period, "phases": phases,
          "planned_seconds": costs.seconds_for(steps, phases),
          "iterations_timed": last["iterations_timed"], "repeats": last["repeats"],
          "rounds": [{k: m[k] for k in ("phases", "load_average_before", "measured")}
                     for m in measurements],
          "machine": last["machine"], "measured": last["measured"]}


def write_plan(path: pathlib.Path, stored: dict):
  """Write budget.json whole or not at all."""
  files.write_text(path, json.dumps(stored, indent=2))


def _set_items(overrides: dict):
  for name, value in sorted(overrides.items()):
    if isinstance(value, (list, tuple)):
      value = ",".join(map(str, value))
    yield f"{name}={value}"


def run_all(comparison: Comparison, workdir, jobs: int = 1, report=print, on_finish=None):
  """Train every run that is not finished, `jobs` processes at a time,
  calling `on_finish()` after each that finishes.

  Returns the runs that failed, as (run directory, last line of its log).
  """
  todo = [(run, run_dir(workdir, *run)) for run in comparison.runs()]
  done = [run for run, d in todo if finished(d, comparison.steps_of(*run[:2]))]
  todo = [(run, d) for run, d in todo if not finished(d, comparison.steps_of(*run[:2]))]
  if done:
    report(f"{len(done)} of {len(done) + len(todo)} runs already finished")
  running, failures = [], []
  try:
    _run_queue(comparison, todo, running, failures, jobs, report, on_finish)
  except KeyboardInterrupt:
    # Let every run save its checkpoint before we stop.
    for process, *_ in running:
      process.send_signal(signal.SIGINT)
    for process, *_ in running:
      process.wait(timeout=300)
    raise
  return failures


def _run_queue(comparison, todo, running, failures, jobs, report, on_finish):
  """Start runs while fewer than `jobs` are running; record how each ended."""
  while todo or running:
    while todo and len(running) < jobs:
      (dataset, method, seed), directory = todo.pop(0)
      directory.parent.mkdir(parents=True, exist_ok=True)
      log = open(log_path(directory), "a")  # pylint: disable=consider-using-with
      started = datetime.datetime.now().isoformat(timespec="seconds")
      log.write(f"=== attempt started {started} by lbt_tf.compare pid {os.getpid()}\n")
      log.flush()
      log.attempt_start = log.tell()
      process = subprocess.Popen(
          train_command(comparison, dataset, method, seed, directory),
          stdout=log, stderr=subprocess.STDOUT, text=True, preexec_fn=die_with_parent)
      report(f"started {dataset} {method} seed {seed}")
      running.append((process, directory, log, time.perf_counter()))
    time.sleep(0.5)
    for entry in list(running):
      process, directory, log, clock = entry
      if process.poll() is None:
        continue
      running.remove(entry)
      log.close()
      minutes = (time.perf_counter() - clock) / 60
      if process.returncode == 0:
        report(f"finished {directory} ({minutes:.1f} min)")
        if on_finish:
          on_finish()
      else:
        failures.append((directory, last_line(pathlib.Path(log.name), log.attempt_start)))
        report(f"FAILED {directory}: {failures[-1][1]}")


def last_line(path: pathlib.Path, offset: int = 0) -> str:
  """The last non-empty line of `path` after byte `offset` (this attempt's)."""
  with open(path, "rb") as f:
    f.seek(offset)
    text = f.read().decode(errors="replace")
  lines = [line for line in text.splitlines() if line.strip()]
  return lines[-1] if lines else "(no output)"


def die_with_parent():
  """In a child, before exec: the kernel sends it SIGTERM when the harness
  dies, kill -9 included (Linux prctl PR_SET_PDEATHSIG), so no training is
  left running as an orphan; SIGTERM makes train save a checkpoint."""
  import ctypes  # pylint: disable=g-import-not-at-top
  try:
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
  except OSError:  # not Linux: children may outlive a killed harness
    pass


# -- results ------------------------------------------------------------------

METRICS = (("modes_covered", "modes (20% rule)", "{:.1f}"),
           ("modes_with_any_sample", "modes (>= 1 sample)", "{:.1f}"),
           ("high_quality_percent", "high quality %", "{:.1f}"),
           ("intra_mode_kl", f"intra-mode KL, all modes (cap {KL_CAP:g})", "{:.3f}"),
           ("intra_mode_kl_fitted", "intra-mode KL, fitted modes", "{:.3f}"),
           ("kl_modes", "modes fitted", "{:.1f}"),
           ("iterations_per_second", "it/s", "{:.1f}"))  # after the first period
IMAGE_METRICS = (("modes_covered", "modes (>= 1 sample)", "{:.1f}"),
                 ("kl_to_uniform", "KL(modes ‖ uniform)", "{:.3f}"),
                 ("fid", "FID", "{:.1f}"),
                 ("kid", "KID", "{:.4f}"),
                 ("step", "iterations", "{:.0f}"),
                 ("planned_seconds", "budgeted training s", "{:.0f}"),
                 ("train_seconds", "training s (last process)", "{:.0f}"),
                 ("iterations_per_second", "it/s", "{:.2f}"))
# The instrument's own score: the same classifier on as many real images.
FLOOR = {"modes_covered": "real_modes_covered", "kl_to_uniform": "real_kl_to_uniform"}


def with_current_kl_keys(metrics: dict) -> dict:
  """Metrics recorded before the intra-mode KL counted every mode (their
  `intra_mode_kl` averaged the fitted modes only: today's
  `intra_mode_kl_fitted`) under today's keys, the all-mode value unknown
  (NaN, shown as "-"; `--rescore-seed` scores it from the export)."""
  old = ("intra_mode_kl" in metrics and metrics.get("kl_modes", 0) > 0
         and math.isnan(metrics.get("intra_mode_kl_fitted", math.nan)))
  if not old:
    return metrics
  return dict(metrics, intra_mode_kl_fitted=metrics["intra_mode_kl"], intra_mode_kl=math.nan)


def collect(comparison: Comparison, workdir) -> Dict[str, Dict[str, List[dict]]]:
  """dataset -> method -> the final metrics of its finished seeds."""
  results = {}
  for dataset, method, seed, directory in finished_runs(comparison, workdir):
    metrics = with_current_kl_keys(json.loads((directory / "metrics.json").read_text()))
    metrics["seed"] = seed
    metrics["teacher"] = recorded_teacher(directory)
    metrics["settings"] = recorded_settings(directory)
    # The run recorded its export's path as it was given; the comparison
    # directory may have been moved or named relative to another place.
    metrics["generator"] = str(directory / "generator" /
                               pathlib.Path(metrics["generator"]).name)
    # Speed without the first period, which includes tracing the step.
    planned = comparison.budget.get((dataset, method))
    if planned:
      metrics["planned_seconds"] = planned["planned_seconds"]
    periods = metrics_csv.read_rows(directory / "metrics.csv")[1:]
    if periods:
      metrics["iterations_per_second"] = float(np.median(
          [row["iterations_per_second"] for row in periods]))
    results.setdefault(dataset, {}).setdefault(method, []).append(metrics)
  return results


def recorded_teacher(directory: pathlib.Path) -> str:
  """The teacher of the run in `directory` as its own config.json records it
  (a run trained by an earlier version may differ from today's preset)."""
  try:
    return config_lib.load(directory).teacher
  except (ValueError, TypeError):  # a config.json this version cannot read
    return "unknown (its config.json is not this version's)"


# Fields of config.json that do not change what a run learns or scores: the
# seed (a row's runs differ in it by design), where data and caches live,
# how often it checkpoints.
NOT_SETTINGS = ("seed", "data_dir", "cache_dir", "checkpoint_every")


def recorded_settings(directory: pathlib.Path) -> dict:
  """The run's config.json, less NOT_SETTINGS ({} if unreadable)."""
  try:
    recorded = json.loads((directory / "config.json").read_text())
  except (OSError, ValueError):
    return {}
  return {k: v for k, v in recorded.items() if k not in NOT_SETTINGS}


def differing_settings(runs) -> Dict[str, list]:
  """field -> each run's value, for the fields a row's finished runs were
  trained with different values of (absent in a run's config.json: None)."""
  fields = sorted({field for run in runs for field in run.get("settings", {})})
  values = {field: [run.get("settings", {}).get(field) for run in runs] for field in fields}
  return {field: v for field, v in values.items() if any(x != v[0] for x in v)}


def teacher_of(comparison: Comparison, dataset, method, runs) -> str:
  """The teacher cell of a row: what its finished runs recorded (all of
  them, if they differ), else what the row would train today."""
  recorded = sorted({run["teacher"] for run in runs if "teacher" in run})
  if recorded:
    return " / ".join(recorded)
  return comparison.run_config(dataset, method, comparison.seeds[0]).teacher


def mean_std(values) -> Tuple[float, float]:
  """Mean and sample standard deviation (0 for a single run)."""
  values = np.asarray(values, dtype=float)
  spread = np.std(values, ddof=1) if len(values) > 1 else 0.0
  return values.mean(), spread


def markdown_table(comparison: Comparison, results) -> str:
  """Per dataset: mean +- std over seeds of each metric, per method."""
  lines = []
  for dataset in comparison.datasets:
    runs_of = results.get(dataset, {})
    config = comparison.run_config(dataset, comparison.methods[0], comparison.seeds[0])
    any_run = next((runs[0] for runs in runs_of.values() if runs), {})
    if config.data.is_image:
      n = any_run.get("fid_samples", config.fid_samples)
      columns = [(key, image_metrics.column_label(label, n) if key in ("fid", "kid") else label,
                  fmt) for key, label, fmt in IMAGE_METRICS if key in any_run]
      about = (f"{any_run.get('num_modes', '?')} modes, counted by a "
               f"{config.data.classes or 'class'} classifier on "
               f"{any_run.get('num_samples', '?'):,} samples")
      if "classifier_accuracy" in any_run:
        about += f" (held-out accuracy {any_run['classifier_accuracy']:.3f})"
    else:
      columns = METRICS
      coverage = {key: label for key, label, _ in METRICS}[comparison.coverage]
      about = f"{config.num_modes} modes; this protocol counts coverage as {coverage}"
    if comparison.seconds:
      budget = (f"equal training time, {comparison.seconds:,.0f} s per run (each row's "
                "iterations bought at its cost per iteration measured alone: budget.json)")
    else:
      budget = f"{config.steps} iterations"
    lines += [f"**{dataset}** ({about}), {budget}, mean ± std over seeds:",
              "",
              "| method | teacher | seeds | " + " | ".join(label for _, label, _ in columns)
              + " |",
              "|---" * (len(columns) + 3) + "|"]
    if FLOOR["modes_covered"] in any_run:
      cells = [fmt.format(any_run[FLOOR[key]]) if key in FLOOR else ""
               for key, _, fmt in columns]
      lines.append("| real data (the instrument's floor) | | | " + " | ".join(cells) + " |")
    short = False  # a row with fewer finished seeds than planned
    mixed = []  # rows whose runs were trained with different settings
    for method in comparison.methods:
      runs = runs_of.get(method, [])
      differing = differing_settings(runs)
      if differing:
        mixed.append(f"{method}: " + "; ".join(
            f"{field} " + ", ".join(f"{v} (seed {r['seed']})" for v, r in zip(values, runs))
            for field, values in differing.items()))
      teacher = teacher_of(comparison, dataset, method, runs)
      seeds = (f"{len(runs)}" if len(runs) == len(comparison.seeds)
               else f"{len(runs)} of {len(comparison.seeds)}")
      short = short or len(runs) < len(comparison.seeds)
      if not runs:
        lines.append(f"| {method} | {teacher} | {seeds} | "
                     + " | ".join("-" for _ in columns) + " |")
        continue
      cells = []
      for key, _, fmt in columns:
        values = [r.get(key, math.nan) for r in runs]
        if any(math.isnan(v) for v in values):  # not recorded (or no fit)
          cells.append("-")
          continue
        mean, std = mean_std(values)
        cells.append(f"{fmt.format(mean)} ± {fmt.format(std)}")
      mark = " (†)" if differing else ""
      lines.append(f"| {method}{mark} | {teacher} | {seeds} | " + " | ".join(cells) + " |")
    if short:
      lines += ["", "\"n of m\" seeds: only n of the row's m runs have finished; the "
                    "others are still to run, were interrupted (the same command resumes "
                    "them) or failed (the last line of <dataset>/<method>/seed-<s>.log says "
                    "why, e.g. diverged): the mean is over the finished ones only."]
    if mixed:
      lines += ["", "(†) the row's runs were not all trained with the same settings "
                    "(each run's config.json; e.g. resumed by another version): "
                    + " | ".join(mixed)]
    if any(key == "fid" for key, _, _ in columns):
      lines += ["", "FID and KID are this library's own (Keras InceptionV3, the n "
                    "generated against n training images), not comparable with "
                    f"published FIDs ({image_metrics.PUBLISHED_PROTOCOL})."]
    if not config.data.is_image:
      lines += ["", f"Intra-mode KL: KL(true mode ‖ Gaussian fitted to the samples nearest "
                    f"it), averaged over all modes with a mode of fewer than 3 samples "
                    f"counting the cap {KL_CAP:g} (each mode at most the cap), and over "
                    f"the fitted modes only (how many: \"modes fitted\"); "
                    f"\"-\": not recorded by that run's version (rescore its export)."]
    lines.append("")
  return "\n".join(lines)


def curves(comparison: Comparison, workdir, dataset) -> dict:
  """method -> {"step": [...], metric: [runs, points]} from the runs' metrics.csv."""
  series = {}
  for method in comparison.methods:
    histories = []
    for seed in comparison.seeds:
      directory = run_dir(workdir, dataset, method, seed)
      if finished(directory, comparison.steps_of(dataset, method)):
        histories.append([with_current_kl_keys(row) for row in
                          metrics_csv.read_rows(directory / "metrics.csv")])
    histories = [h for h in histories if h]
    if not histories:
      continue
    length = min(len(h) for h in histories)
    series[method] = {"step": [row["step"] for row in histories[0][:length]]}
    planned = comparison.budget.get((dataset, method))
    if planned:  # equal time: where each evaluation falls in the budget
      phases = {int(k): v for k, v in planned["phases"].items()}
      series[method]["seconds"] = [costs.seconds_for(step, phases)
                                   for step in series[method]["step"]]
    for key in set(histories[0][0]) - {"step"}:
      series[method][key] = [[row[key] for row in h[:length]] for h in histories]
  return series


def write_report(comparison: Comparison, workdir, density_samples: int = 200_000,
                 report=print) -> pathlib.Path:
  """results.md (table), results.json, curves-<dataset>.png (Figure 2, bands
  over seeds), and from the first seed of each method densities.png (Figure
  1, the mixtures) and samples.png (grids, the image datasets); a row whose
  runs have no exported generator here has no panel."""
  # TensorFlow only here: planning and tables stay light. No training code:
  # the figures come from the exports.
  from lbt_tf import plots  # pylint: disable=g-import-not-at-top
  from lbt_tf.data import image_data, mixtures  # pylint: disable=g-import-not-at-top
  workdir = pathlib.Path(workdir)
  results = collect(comparison, workdir)
  table = markdown_table(comparison, results)
  (workdir / "results.md").write_text(
      f"{comparison.description}\n\n{table}")
  (workdir / "results.json").write_text(json.dumps(results, indent=2))

  densities, samples = {}, {}
  for dataset in comparison.datasets:
    methods = results.get(dataset, {})
    config = comparison.run_config(dataset, "gan", 0)
    if config.data.is_image:
      data = image_data.load(config.data, config.data_dir, config.image_size)
      rows = np.random.default_rng(config_lib.EVAL_SEED).choice(len(data.images),
                                                                plots.GRID_SAMPLES)
      samples[dataset] = {"data": data.images[rows]}
      for method, run in _first_exports(methods, report):
        samples[dataset][f"{method} (seed {run['seed']})"] = _export_samples(
            run, plots.GRID_SAMPLES)
    else:
      mixture = mixtures.of_config(config)
      panels = {"data": mixture.sample(density_samples,
                                       np.random.default_rng(config_lib.EVAL_SEED))}
      for method, run in _first_exports(methods, report):
        panels[f"{method} (seed {run['seed']})"] = _export_samples(run, density_samples)
      densities[dataset] = (plots.plot_extent(mixture.means, mixture.std), panels)
    series = curves(comparison, workdir, dataset)
    if series:
      plots.metric_curves(series, workdir / f"curves-{dataset}.png",
                          f"{dataset}: mean ± std over {len(comparison.seeds)} seeds",
                          coverage=comparison.coverage,
                          panels=plots.IMAGE_CURVES if config.data.is_image else plots.CURVES,
                          x="seconds" if comparison.seconds else "step")
  written = ["results.md", "curves-*.png"]
  if densities:
    plots.density_grid(densities, workdir / "densities.png")
    written.append("densities.png")
  if samples:
    plots.image_panels(samples, workdir / "samples.png")
    written.append("samples.png")
  report(f"wrote {workdir}: {', '.join(written)}")
  return workdir / "results.md"


def _first_exports(methods: dict, report):
  """(method, its first finished run whose exported generator is here): a
  run taken from --records has none (lbt_tf/records.py)."""
  for method, runs in methods.items():
    exported = [run for run in runs if pathlib.Path(run["generator"]).exists()]
    if exported:
      yield method, exported[0]
    else:
      report(f"no panel for {method}: none of its finished runs has its exported "
             "generator here (a run taken from --records keeps its metrics and its "
             "own samples.png or density.png)")


def _export_samples(run: dict, num_samples: int):
  """Samples of a run's exported generator, with the evaluation noise."""
  from lbt_tf.export import generators  # pylint: disable=g-import-not-at-top
  return generators.load(run["generator"]).sample(num_samples, config_lib.EVAL_SEED)


def rescore(comparison: Comparison, workdir, seed: int, report=print) -> pathlib.Path:
  """Score every finished run's exported SavedModel again with other noise
  (`seed`), as `python -m lbt_tf.evaluate` does; writes rescored-<seed>.md.
  A run without its export here (taken from --records) is skipped, said."""
  from lbt_tf.export import generators  # pylint: disable=g-import-not-at-top (TensorFlow)
  from lbt_tf.metrics import scoring  # pylint: disable=g-import-not-at-top
  workdir = pathlib.Path(workdir)
  rescored = {}
  for dataset, methods in collect(comparison, workdir).items():
    for method, runs in methods.items():
      for run in runs:
        if not pathlib.Path(run["generator"]).exists():
          report(f"not re-scored: {run['generator']} is not here (a run taken from --records)")
          continue
        config = comparison.run_config(dataset, method, run["seed"])
        metrics = scoring.score_export(config, generators.load(run["generator"]),
                                       config.final_eval_samples, seed,
                                       report=lambda _: None)
        metrics.update(seed=run["seed"], teacher=run["teacher"], settings=run["settings"],
                       iterations_per_second=run["iterations_per_second"])
        rescored.setdefault(dataset, {}).setdefault(method, []).append(metrics)
  path = workdir / f"rescored-{seed}.md"
  path.write_text(f"Every exported generator re-scored with evaluation seed "
                  f"{seed}:\n\n{markdown_table(comparison, rescored)}")
  report(f"wrote {path}")
  return path
