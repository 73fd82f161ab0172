"""The method comparison: equal-budget runs, resumable, and honest tables."""

import dataclasses
import json

import pytest

from lbt_tf import comparison, config as config_lib, records
from tests import clitools

TINY = ["--datasets", "ring", "--methods", "gan,pacgan,lbt[estimator=kde,bandwidth=0.2]",
        "--seeds", "3",
        "--steps", "20", "--set", "eval_every=10", "--set", "checkpoint_every=10",
        "--set", "eval_samples=2000", "--set", "final_eval_samples=20000",
        "--set", "generator_units=32,32", "--set", "discriminator_units=32,32",
        "--set", "noise_dim=16", "--set", "batch_size=128"]


def test_comparison_runs_every_combination_once_and_reports_them(tmp_path):
  """Every row x seed trained once; a run that fails (its directory holds
  something that is not a run, which `train` refuses) leaves the others'
  table written, is named in one line, and the same command, once the
  cause is gone, trains it, finishes a run killed during its evaluation
  from its checkpoint and retrains nothing else."""
  workdir = tmp_path / "comparison"
  stray = workdir / "ring" / "pacgan" / "seed-3" / "notes.txt"
  stray.parent.mkdir(parents=True)
  stray.write_text("not a run")
  result = clitools.run_here("lbt_tf.compare", "--workdir", workdir, "--jobs", "2",
                        *TINY)
  assert result.returncode == 1
  line = result.stderr.strip().splitlines()[-1]
  assert line.startswith(f"lbt_tf.compare: error: 1 run(s) failed, first {stray.parent}: "), line
  assert "is not empty and holds no lbt_tf run" in line and line.endswith("the table has the others")
  for name in ("results.md", "results.json", "densities.png", "curves-ring.png"):
    assert (workdir / name).exists(), name

  # The table is the runs' own final metrics, aggregated over seeds.
  results = json.loads((workdir / "results.json").read_text())
  for method in ("gan", "lbt[estimator=kde,bandwidth=0.2]"):
    runs = results["ring"][method]
    assert [r["seed"] for r in runs] == [3]
    for r in runs:
      own = json.loads((comparison.run_dir(workdir, "ring", method, r["seed"]) /
                        "metrics.json").read_text())
      assert r["high_quality_percent"] == own["high_quality_percent"]
      assert own["step"] == 20
  config = json.loads((workdir / "ring/gan/seed-3/config.json").read_text())
  assert config["seed"] == 3 and config["noise_dim"] == 16
  variant = json.loads((workdir / "ring/lbt+estimator=kde+bandwidth=0.2/seed-3/"
                                  "config.json").read_text())
  assert (variant["method"], variant["estimator"], variant["bandwidth"]) == ("lbt", "kde", 0.2)
  table = (workdir / "results.md").read_text()
  assert "| gan | none | 1 |" in table and "| pacgan | none | 0 of 1 |" in table
  # every row says which teacher produced it
  assert ("| lbt[estimator=kde,bandwidth=0.2] | kernel (KDE on K = 5 batches, h 0.2 -> 0.05, "
          "no unroll) | 1 |") in table

  # Re-running trains what failed, finishes the run that lost its final
  # metrics (killed during its evaluation) from its checkpoint, and trains
  # nothing else. The teacher column is what each run recorded, not
  # today's preset (here a config.json edited as if an earlier version had
  # trained it).
  stray.unlink()
  finished_at = (workdir / "ring/lbt+estimator=kde+bandwidth=0.2/seed-3/"
                           "metrics.json").stat().st_mtime_ns
  recorded = workdir / "ring/lbt+estimator=kde+bandwidth=0.2/seed-3/config.json"
  recorded.write_text(recorded.read_text().replace('"unroll_steps": 5', '"unroll_steps": 3'))
  (workdir / "ring/gan/seed-3/metrics.json").unlink()
  again = clitools.run_here("lbt_tf.compare", "--workdir", workdir, *TINY,
                       "--rescore-seed", "7")
  assert again.returncode == 0, again.stderr[-3000:]
  assert "1 of 3 runs already finished" in again.stdout
  assert (workdir / "ring/lbt+estimator=kde+bandwidth=0.2/seed-3/"
                    "metrics.json").stat().st_mtime_ns == finished_at
  log = (workdir / "ring/gan/seed-3.log").read_text()
  assert "resuming from the checkpoint at step 20" in log
  assert list((workdir / "ring/gan/seed-3/generator").iterdir()) == [
      workdir / "ring/gan/seed-3/generator/1"]  # no second export
  assert json.loads((workdir / "ring/pacgan/seed-3/metrics.json").read_text())["step"] == 20

  # The exported generators re-scored with other noise.
  table = (workdir / "rescored-7.md").read_text()
  assert "seed 7" in table and "| gan | none | 1 |" in table and "| pacgan | none | 1 |" in table
  for name in ("results.md", "rescored-7.md"):
    assert "| kernel (KDE on K = 3 batches, h 0.2 -> 0.05, no unroll) | 1 |" in (
        workdir / name).read_text()


def test_records_and_workdir_plans_merge_and_a_row_planned_twice_is_refused(tmp_path):
  chosen = comparison.load_preset("paper", datasets=("ring",), methods=("gan", "lbt"),
                                  seeds=(0,), steps=0, seconds=60.0)
  row = lambda steps: {"steps": steps, "eval_every": steps // 5, "phases": {"0": 10.0},
                       "planned_seconds": steps / 100, "machine": "cpu A, 2 cores"}
  workdir, kept = tmp_path / "workdir", tmp_path / "records"
  comparison.write_plan(workdir / "budget.json", {"seconds": 60.0, "runs": {"ring gan": row(500)}})
  comparison.write_plan(kept / "budget.json", {"seconds": 60.0, "runs": {"ring lbt": row(100)}})
  assert records.restore(chosen, workdir, kept) == 0
  planned = comparison.read_budget(chosen, workdir)
  assert (planned.steps_of("ring", "gan"), planned.steps_of("ring", "lbt")) == (500, 100)
  comparison.write_plan(kept / "budget.json", {"seconds": 60.0, "runs": {"ring gan": row(600)}})
  with pytest.raises(ValueError, match="plan ring gan differently: use a new --workdir"):
    records.restore(chosen, workdir, kept)
  # rows measured on another machine are not equal time
  comparison.write_plan(workdir / "budget.json", {"seconds": 60.0, "runs": {"ring gan": row(500)}})
  comparison.write_plan(kept / "budget.json", {"seconds": 60.0, "runs": {
      "ring lbt": dict(row(100), machine="cpu B, 8 cores")}})
  with pytest.raises(ValueError, match="measured on 'cpu A, 2 cores' and on 'cpu B, 8 cores'"):
    records.restore(chosen, workdir, kept)
  # records of another budget are named, and leave a new workdir untouched
  with pytest.raises(ValueError, match=r"--records .*records plans 60.0 s per run, not 30.0"):
    records.restore(dataclasses.replace(chosen, seconds=30.0), tmp_path / "new", kept)
  assert not (tmp_path / "new").exists()


def test_only_whole_finished_records_are_restored_and_an_attempt_is_set_aside(tmp_path):
  """A record counts when its metrics.json has the row's steps and its
  other files are there (a copy cut short before metrics.json is not one);
  an unfinished attempt in WORKDIR is moved aside whole, never mixed."""
  chosen = comparison.load_preset("paper", datasets=("ring",), methods=("gan", "pacgan", "lbt"),
                                  seeds=(0,), steps=50)
  kept, workdir = tmp_path / "records", tmp_path / "workdir"

  def write_run(base, row, step, files=records.RUN_FILES):
    directory = comparison.run_dir(base, "ring", row, 0)
    directory.mkdir(parents=True)
    for name in files:
      (directory / name).write_text(json.dumps({"step": step}) if name == "metrics.json" else name)
    comparison.log_path(directory).write_text(f"{base.name} log")
    return directory

  (write_run(kept, "gan", 50) / "samples.png").write_text("its picture")
  write_run(kept, "pacgan", 20)  # stopped early: not finished
  write_run(kept, "lbt", 50, files=("metrics.json",))  # a cut-short copy
  attempt = write_run(workdir, "gan", 30)
  (attempt / "checkpoints").mkdir()
  said = []
  assert records.restore(chosen, workdir, kept, report=said.append) == 1
  run = comparison.run_dir(workdir, "ring", "gan", 0)
  assert sorted(p.name for p in run.iterdir()) == sorted(
      records.RUN_FILES + ("samples.png",))  # no checkpoints
  assert (run / "samples.png").read_text() == "its picture"
  assert run.stat().st_mode == run.parent.stat().st_mode  # mkdir's, not mkdtemp's 0700
  assert not [p for p in run.parent.iterdir() if p.name.startswith(".")]  # no staging left
  assert json.loads((run / "metrics.json").read_text())["step"] == 50
  assert comparison.log_path(run).read_text() == "records log"
  aside = [p for p in run.parent.iterdir() if p.name.startswith("seed-0.unfinished-")]
  assert len(aside) == 2 and said and "set" in said[0]  # the attempt and its log
  assert (next(p for p in aside if p.is_dir()) / "checkpoints").is_dir()
  assert not comparison.run_dir(workdir, "ring", "pacgan", 0).exists()
  assert not comparison.run_dir(workdir, "ring", "lbt", 0).exists()
  assert records.restore(chosen, workdir, kept) == 0  # nothing twice


def test_rows_are_methods_with_settings_of_their_own():
  assert comparison.split_rows("gan,lbt[estimator=flow,unroll_steps=3],lbt") == (
      "gan", "lbt[estimator=flow,unroll_steps=3]", "lbt")
  assert comparison.parse_row("lbt[estimator=flow,unroll_steps=3]") == (
      "lbt", {"estimator": "flow", "unroll_steps": 3})
  with pytest.raises(ValueError, match="not FIELD=VALUE"):
    comparison.parse_row("lbt[colour=red]")


def test_table_shows_mean_and_sample_std_over_seeds():
  chosen = comparison.load_preset("paper", datasets=("ring",),
                                  methods=("gan", "lbt"), seeds=(0, 1))
  row = {"modes_with_any_sample": 8, "high_quality_percent": 50.0,
         "intra_mode_kl": 2.75, "intra_mode_kl_fitted": 0.5, "kl_modes": 6,
         "iterations_per_second": 10.0}
  settings = {"steps": 5000, "generator_lr": 0.001}
  results = {"ring": {"gan": [dict(row, modes_covered=8, seed=0, settings=settings),
                              dict(row, modes_covered=6, seed=1, settings=settings)]}}
  table = comparison.markdown_table(chosen, results)
  assert ("| gan | none | 2 | 7.0 ± 1.4 | 8.0 ± 0.0 | 50.0 ± 0.0 | 2.750 ± 0.000 | 0.500 ± 0.000 "
          "| 6.0 ± 0.0 | 10.0 ± 0.0 |") in table
  assert "intra-mode KL, all modes (cap 10) | intra-mode KL, fitted modes | modes fitted" in table
  assert "| lbt | kernel (KDE on K = 5 batches, h 0.383 -> 0.05, no unroll) | 0 of 2 | - |" in table  # missing runs are shown, not hidden
  assert "(†)" not in table
  # A row whose runs were trained differently (resumed by another version,
  # say) is marked, and the note says in what.
  results["ring"]["gan"][1]["settings"] = {"steps": 4000, "generator_lr": 0.001, "pack": 2}
  table = comparison.markdown_table(chosen, results)
  assert "| gan (†) | none | 2 | 7.0 ± 1.4 |" in table
  assert ("not all trained with the same settings (each run's config.json; e.g. resumed by "
          "another version): gan: pack None (seed 0), 2 (seed 1); steps 5000 (seed 0), "
          "4000 (seed 1)") in table


def test_a_run_recorded_before_the_all_mode_kl_shows_its_kl_as_the_fitted_one():
  """Its `intra_mode_kl` averaged the fitted modes only: shown as such, and
  the all-mode value as not recorded, never the old number under the new name."""
  old = {"intra_mode_kl": 0.02, "kl_modes": 1, "modes_covered": 1}
  assert comparison.with_current_kl_keys(old) == {
      "intra_mode_kl_fitted": 0.02, "intra_mode_kl": pytest.approx(float("nan"), nan_ok=True),
      "kl_modes": 1, "modes_covered": 1}
  new = {"intra_mode_kl": 8.75, "intra_mode_kl_fitted": 0.02, "kl_modes": 1}
  assert comparison.with_current_kl_keys(new) == new
  chosen = comparison.load_preset("paper", datasets=("ring",), methods=("gan",), seeds=(0,))
  row = dict(comparison.with_current_kl_keys(old), modes_with_any_sample=1,
             high_quality_percent=99.0, iterations_per_second=10.0)
  table = comparison.markdown_table(chosen, {"ring": {"gan": [row]}})
  assert "| 99.0 ± 0.0 | - | 0.020 ± 0.000 | 1.0 ± 0.0 |" in table


@pytest.mark.parametrize("args, message", [
    (["--preset", "nope"], "invalid choice"),
    (["--methods", "gan,wgan"], "unknown method 'wgan'"),
    (["--datasets", "moons"], "unknown dataset 'moons'"),
    (["--set", "pack=3", "--methods", "pacgan"], "multiple of --pack"),
    (["--set", "learning_rate=1"], "expected FIELD=VALUE"),
    (["--plan-rounds", "2", "--steps", "10"], "--plan-rounds (at least 1) is for an equal-time"),
    (["--plan-rounds", "-1", "--seconds", "10"], "--plan-rounds (at least 1)"),
])
def test_bad_comparison_settings_fail_in_one_line(tmp_path, args, message):
  result = clitools.run_here("lbt_tf.compare", "--workdir", tmp_path, *args)
  assert result.returncode != 0
  assert message in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr
  assert not list(tmp_path.iterdir())  # nothing started


def test_a_misspelt_name_is_refused_before_tensorflow_starts(tmp_path):
  """Names, ranges and data are checked first; only the methods' own checks
  need their code (TensorFlow, seconds of start-up)."""
  result = clitools.run_fresh_and_list_tensorflow(
      "lbt_tf.compare", "--workdir", tmp_path / "w", "--datasets", "ring,moons")
  assert "unknown dataset 'moons'" in result.stderr
  assert result.stdout.strip() == "no tensorflow"
  assert not (tmp_path / "w").exists()


def test_image_comparison_tables_grids_and_rescoring(tmp_path):
  workdir = tmp_path / "comparison"
  tiny = ["--preset", "stacked_digits", "--methods", "gan", "--seeds", "1",
          "--steps", "4", "--set", "eval_every=2", "--set", "batch_size=16",
          "--set", "eval_samples=300", "--set", "final_eval_samples=400",
          "--set", "generator_width=4", "--set", "discriminator_width=4",
          "--workdir", workdir, "--rescore-seed", "5"]
  result = clitools.run_here("lbt_tf.compare", *tiny,
                        env={"LBT_TF_CACHE": str(tmp_path / "cache")})
  assert result.returncode == 0, result.stderr[-3000:]
  for name in ("results.md", "samples.png", "curves-stacked_digits.png", "rescored-5.md"):
    assert (workdir / name).exists(), name
  own = json.loads((workdir / "stacked_digits/gan/seed-1/metrics.json").read_text())
  table = (workdir / "results.md").read_text()
  assert "KL(modes ‖ uniform)" in table and "1000 modes" in table
  assert (f"| gan | none | 1 | {own['modes_covered']:.1f} ± 0.0 | "
          f"{own['kl_to_uniform']:.3f} ± 0.000 |") in table
  rescored = (workdir / "rescored-5.md").read_text()
  assert "| gan | none | 1 |" in rescored and "KL(modes ‖ uniform)" in rescored


def test_the_former_command_name_still_works(tmp_path):
  result = clitools.run("lbt_tf.benchmark", "--workdir", tmp_path, "--methods", "nope")
  assert result.returncode == 2
  assert result.stderr.startswith("lbt_tf.compare: error: unknown method 'nope'")


# -- equal training time --------------------------------------------------------

def test_a_time_budget_buys_iterations_at_each_phases_cost():
  from lbt_tf import costs  # pylint: disable=g-import-not-at-top
  assert costs.iterations_for(10.0, {0: 20.0}) == 500
  # 100 warm-up iterations at 10 ms (1 s), then 9 s at 100 ms: 90 more.
  assert costs.iterations_for(10.0, {0: 10.0, 100: 100.0}) == 190
  assert costs.iterations_for(0.5, {0: 10.0, 100: 100.0}) == 50  # inside the warm-up
  assert costs.seconds_for(190, {0: 10.0, 100: 100.0}) == pytest.approx(10.0)
  steps, period = comparison.plan_steps(10.0, {0: 10.0, 100: 100.0})
  assert (steps, period) == (150, 30)  # a multiple of 5 periods of 10-iteration calls
  assert comparison.plan_steps(0.01, {0: 100.0}) == (50, 10)  # at least one unit
  # A row measured in rounds is priced at each phase's least cost, whichever
  # round it came from (JSON's keys are strings).
  rounds = [{"phases": {"0": 20.0, "100": 50.0}}, {"phases": {"0": 10.0, "100": 80.0}}]
  rounds = [dict(r, iterations_timed=20, repeats=5, load_average_before=0.0,
                 machine="m", measured=str(i)) for i, r in enumerate(rounds)]
  row = comparison.plan_row(10.0, rounds)
  assert row["phases"] == {0: 10.0, 100: 50.0}
  assert (row["steps"], row["eval_every"]) == comparison.plan_steps(10.0, {0: 10.0, 100: 50.0})
  assert [r["measured"] for r in row["rounds"]] == ["0", "1"]


TIMED = ["--datasets", "ring", "--seeds", "1", "--seconds", "2",
         "--set", "eval_samples=2000", "--set", "final_eval_samples=5000",
         "--set", "generator_units=16", "--set", "discriminator_units=16",
         "--set", "estimator_units=16", "--set", "noise_dim=8", "--set", "batch_size=64"]


def test_equal_time_plans_once_measured_alone_and_resumes_with_the_same_plan(tmp_path):
  workdir = tmp_path / "timed"
  # Two rows of different costs whose steps trace in seconds: the GAN, and
  # the GAN on 16 times the batch.
  rows = "gan,gan[batch_size=1024]"
  result = clitools.run_here("lbt_tf.compare", "--workdir", workdir, "--methods", rows,
                             "--plan-rounds", "2", *TIMED)
  assert result.returncode == 0, result.stderr[-3000:]
  plan = json.loads((workdir / "budget.json").read_text())
  assert plan["seconds"] == 2.0 and plan["measuring"] == {} and plan["plan_rounds"] == 2
  # Measured in interleaved rounds: every row once before any row again.
  measured = [line.split("measuring ring ")[1].split(" (")[0]
              for line in result.stdout.splitlines() if "measuring ring " in line]
  assert measured == [f"{row}, round {r} of 2" for r in (1, 2) for row in rows.split(",")]
  for row in rows.split(","):
    entry = plan["runs"][f"ring {row}"]
    config = json.loads((comparison.run_dir(workdir, "ring", row, 1) / "config.json").read_text())
    metrics = json.loads((comparison.run_dir(workdir, "ring", row, 1) / "metrics.json").read_text())
    # The run trained exactly the planned iterations, which cost the budget
    # at the measured rate (one 50-iteration unit more at most).
    assert config["steps"] == metrics["step"] == entry["steps"]
    assert config["eval_every"] == entry["eval_every"] == entry["steps"] // 5
    ms = entry["phases"]["0"]
    assert (entry["iterations_timed"], entry["repeats"]) == (20, 5)  # the best of 5 runs of 20
    # ... in each of 2 processes; the plan prices the least of them.
    assert len(entry["rounds"]) == 2
    assert ms == min(r["phases"]["0"] for r in entry["rounds"])
    assert entry["steps"] * ms / 1e3 <= 2.0 or entry["steps"] == 50
    assert (2.0 - entry["steps"] * ms / 1e3) < 50 * ms / 1e3
  # The cheaper row buys at least as many iterations (which row is cheaper is
  # the machine's to say: on a busy one both cost about the same).
  first, second = (plan["runs"][f"ring {row}"] for row in rows.split(","))
  for cheap, dear in ((first, second), (second, first)):
    if cheap["phases"]["0"] <= dear["phases"]["0"]:
      assert cheap["steps"] >= dear["steps"], plan
  table = (workdir / "results.md").read_text()
  assert "equal training time, 2 s per run" in table
  # Resumed: nothing measured again, nothing trained again, the same plan.
  before = (workdir / "budget.json").read_text()
  again = clitools.run_here("lbt_tf.compare", "--workdir", workdir, "--methods", rows, *TIMED)
  assert again.returncode == 0, again.stderr[-3000:]
  assert "measuring" not in again.stdout and "2 of 2 runs already finished" in again.stdout
  assert (workdir / "budget.json").read_text() == before
  # Another budget in the same workdir is refused, not mixed.
  other = clitools.run_here("lbt_tf.compare", "--workdir", workdir, "--methods", rows,
                       *TIMED[:-1 - TIMED[::-1].index("--seconds")], "--seconds", "3",
                       *TIMED[TIMED.index("--seconds") + 2:])
  assert other.returncode == 1 and "plans 2.0 s per run, not 3.0" in other.stderr

  # Records kept beside the code carry the study to a machine without
  # WORKDIR: the plan, the runs' metrics, configs and logs, never
  # checkpoints or exports; nothing is measured or trained again.
  kept = tmp_path / "records"
  report = clitools.run_here("lbt_tf.compare", "--workdir", workdir, "--methods", rows, *TIMED,
                             "--report-only", "--records", kept)
  assert report.returncode == 0, report.stderr[-3000:]
  assert f"{kept} holds 2 finished runs, the plan and the tables" in report.stdout
  assert (kept / "budget.json").read_text() == before
  run = comparison.run_dir(kept, "ring", "gan", 1)
  assert sorted(p.name for p in run.iterdir()) == sorted(records.RUN_FILES + ("density.png",))
  assert (run / "density.png").read_bytes() == (
      comparison.run_dir(workdir, "ring", "gan", 1) / "density.png").read_bytes()
  assert comparison.log_path(run).read_text() == comparison.log_path(
      comparison.run_dir(workdir, "ring", "gan", 1)).read_text()
  elsewhere = tmp_path / "elsewhere"
  moved = clitools.run_here("lbt_tf.compare", "--workdir", elsewhere, "--methods", rows, *TIMED,
                            "--records", kept, "--rescore-seed", "7")
  assert moved.returncode == 0, moved.stderr[-3000:]
  assert "2 finished runs taken from" in moved.stdout
  assert "measuring" not in moved.stdout and "2 of 2 runs already finished" in moved.stdout
  assert (elsewhere / "results.md").read_text() == (workdir / "results.md").read_text()
  assert "no panel for gan: none of its finished runs has its exported generator" in moved.stdout
  # ... but each restored run has its own picture
  assert (comparison.run_dir(elsewhere, "ring", "gan", 1) / "density.png").read_bytes() == (
      run / "density.png").read_bytes()
  assert "not re-scored: " in moved.stdout and (kept / "rescored-7.md").exists()
  assert not list(elsewhere.rglob("checkpoint*"))


# TIMED's --set items, as the command line parses them.
SMALL = {name: config_lib.parse_value(name, text) for name, _, text in
         (item.partition("=") for flag, item in zip(TIMED, TIMED[1:]) if flag == "--set")}


def a_round(ms, machine=None, measured="earlier"):
  """One stored measurement of a row (as `lbt_tf.costs` gives it)."""
  return {"phases": {"0": ms}, "iterations_timed": 20, "repeats": 5, "load_average_before": 0.0,
          "machine": machine or comparison.machine(), "measured": measured}


def test_an_interrupted_plan_measures_only_its_missing_rounds(tmp_path):
  """A plan cut off after a row's first round (budget.json's "measuring")
  goes on from its second, writing the plan after every measurement; the
  row is priced at the least of its rounds."""
  workdir = tmp_path / "half-planned"
  workdir.mkdir()
  budget = workdir / "budget.json"
  comparison.write_plan(budget, {"seconds": 2.0, "runs": {}, "plan_rounds": 3,
                                 "measuring": {"ring gan": [a_round(1e4)]}})  # 10 s/iteration
  chosen = comparison.load_preset("paper", datasets=("ring",), methods=("gan",), seeds=(1,),
                                  seconds=2.0, settings=SMALL)
  said, seen = [], []
  planned = comparison.plan_budget(chosen, workdir, report=said.append,
                                   on_measured=lambda: seen.append(json.loads(budget.read_text())))
  assert [m for m in said if m.startswith("measuring")] == [
      f"measuring ring gan, round {r} of 3 (alone: nothing else of the comparison runs)"
      for r in (2, 3)]
  # Written after every measurement: round 2 kept unpriced, then the row priced.
  assert [len(snapshot["measuring"].get("ring gan", [])) for snapshot in seen] == [2, 0]
  assert "ring gan" not in seen[0]["runs"] and "ring gan" in seen[1]["runs"]
  entry = planned.budget[("ring", "gan")]
  assert [r["measured"] for r in entry["rounds"]][0] == "earlier" and len(entry["rounds"]) == 3
  assert entry["phases"]["0"] == min(r["phases"]["0"] for r in entry["rounds"][1:]) < 1e4
  assert entry["steps"] > 50  # priced at a fast round, not at 10 s per iteration


def test_a_plans_rounds_are_its_own_and_of_one_machine(tmp_path):
  """No measurement runs here: a row whose rounds are all in is priced
  from them; other --plan-rounds than the stored plan's, or a round from
  another machine, is refused before anything is measured; --records
  carries a row's rounds to another WORKDIR of this machine only."""
  from lbt_tf import records  # pylint: disable=g-import-not-at-top
  # How many rounds: the plan's own; 1 for a plan made before rounds; 3 new.
  assert comparison.plan_rounds_of(None, 0, "b") == comparison.PLAN_ROUNDS == 3
  assert comparison.plan_rounds_of(None, 2, "b") == 2
  assert comparison.plan_rounds_of({"runs": {"ring gan": {}}}, 0, "b") == 1
  assert comparison.plan_rounds_of({"runs": {}, "plan_rounds": 2}, 0, "b") == 2
  with pytest.raises(ValueError, match="measures each row in 2 round"):
    comparison.plan_rounds_of({"runs": {}, "plan_rounds": 2}, 3, "b")
  with pytest.raises(ValueError, match="timed different phases"):
    comparison.plan_row(2.0, [a_round(10.0), dict(a_round(10.0), phases={"0": 9.0, "500": 90.0})])

  chosen = comparison.load_preset("paper", datasets=("ring",), methods=("gan",), seeds=(1,),
                                  seconds=2.0, settings=SMALL)
  done = tmp_path / "all-rounds-in"
  comparison.write_plan(done / "budget.json", {
      "seconds": 2.0, "runs": {}, "plan_rounds": 2,
      "measuring": {"ring gan": [a_round(30.0), a_round(20.0, measured="later")]}})
  said = []
  planned = comparison.plan_budget(chosen, done, report=said.append)
  assert not [m for m in said if m.startswith("measuring")]
  assert planned.budget[("ring", "gan")]["phases"] == {"0": 20.0}
  assert planned.budget[("ring", "gan")]["steps"] == 100  # 2 s at 20 ms

  with pytest.raises(ValueError, match="measures each row in 2 round"):
    comparison.read_budget(dataclasses.replace(chosen, plan_rounds=3), done)

  elsewhere = tmp_path / "other-machine"
  comparison.write_plan(elsewhere / "budget.json", {
      "seconds": 2.0, "runs": {}, "plan_rounds": 2,
      "measuring": {"ring gan": [a_round(30.0, machine="Z80, 1 cores")]}})
  with pytest.raises(ValueError, match="equal time needs one machine"):
    comparison.plan_budget(chosen, elsewhere, report=said.append)
  assert not [m for m in said if m.startswith("measuring")]

  # Records: this machine's unfinished rounds are taken, another's are not.
  for machine_name, taken in ((None, 1), ("Z80, 1 cores", 0)):
    kept, workdir = tmp_path / f"records-{taken}", tmp_path / f"fresh-{taken}"
    comparison.write_plan(kept / "budget.json", {
        "seconds": 2.0, "runs": {}, "plan_rounds": 2,
        "measuring": {"ring gan": [a_round(30.0, machine=machine_name)]}})
    records.restore(chosen, workdir, kept, report=said.append)
    own = (json.loads((workdir / "budget.json").read_text())
           if (workdir / "budget.json").exists() else {"measuring": {}})
    assert len(own["measuring"].get("ring gan", [])) == taken
    assert taken == 0 or own["plan_rounds"] == 2


def test_one_comparison_per_workdir(tmp_path):
  from lbt_tf import runlock  # pylint: disable=g-import-not-at-top
  workdir = tmp_path / "locked"
  with runlock.RunLock(workdir, report=lambda _: None):
    result = clitools.run_here("lbt_tf.compare", "--workdir", workdir, *TINY)
  assert result.returncode == 1
  assert "is being trained by pid" in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1
  assert not (workdir / "ring").exists()  # nothing started


def test_a_killed_comparison_leaves_no_training_behind(tmp_path):
  """kill -9 on the harness: its training child gets SIGTERM from the kernel,
  saves a checkpoint and exits; the same command then resumes."""
  import os  # pylint: disable=g-import-not-at-top
  import signal  # pylint: disable=g-import-not-at-top
  import time  # pylint: disable=g-import-not-at-top
  workdir, kept = tmp_path / "killed", tmp_path / "records"
  # a short row, then one that trains until killed (--steps 0: each row's own)
  long = [a if a != "20" else "0" for a in TINY]
  long[long.index("--methods") + 1] = "pacgan[steps=20],gan[steps=100000]"
  harness = clitools.start("lbt_tf.compare", "--workdir", workdir, *long, "--records", kept)
  run = comparison.run_dir(workdir, "ring", "gan[steps=100000]", 3)
  deadline = time.time() + 300
  while not clitools.checkpoint_steps(run) if (run / "checkpoints").exists() else True:
    assert time.time() < deadline and harness.poll() is None, harness.communicate()[1][-2000:]
    time.sleep(0.5)
  lock = (run / ".lock").read_text()
  child = int(lock.split()[1])
  harness.send_signal(signal.SIGKILL)
  harness.wait()
  deadline = time.time() + 120
  while time.time() < deadline:
    try:
      os.kill(child, 0)
    except ProcessLookupError:
      break
    time.sleep(0.5)
  else:
    os.kill(child, signal.SIGKILL)
    pytest.fail(f"training pid {child} outlived its killed comparison")
  log = (run.parent / "seed-3.log").read_text()
  assert "interrupted at step" in log  # it saved its checkpoint on the way out
  # The short row was kept in --records as it finished (the harness never
  # reached its report), the unfinished one not.
  assert json.loads((comparison.run_dir(kept, "ring", "pacgan[steps=20]", 3) /
                     "metrics.json").read_text())["step"] == 20
  assert not comparison.run_dir(kept, "ring", "gan[steps=100000]", 3).exists()


def test_curve_legends_wrap_long_rows_below_the_panels(tmp_path):
  """15 rows named like `lbt-gan[estimator=kde,...]` once drew a legend over
  both panels: each name is now broken after "[" or "," into lines of at
  most 60 characters, and the legend sits below the panels, which keep
  their size while the figure grows."""
  from matplotlib import image  # pylint: disable=g-import-not-at-top
  from lbt_tf import plots  # pylint: disable=g-import-not-at-top
  name = ("lbt-gan[estimator=kde,bandwidth=7,final_bandwidth=1,anneal_steps=1000,"
          "scale_teaching=true,adversarial_weight=0.1,teaching_warmup=0]")
  lines = plots.wrapped(name).split("\n")
  assert "".join(lines) == name and len(lines) == 3
  assert all(len(line) <= 60 for line in lines)
  assert all(line.endswith((",", "[")) for line in lines[:-1])
  assert plots.wrapped("a" * 70) == "a" * 70  # no place to break: kept whole
  curve = {"step": [1, 2], "modes_covered": [[1.0, 2.0]], "kl_to_uniform": [[3.0, 2.0]]}
  heights = []
  for rows in (1, 15):
    path = tmp_path / f"curves-{rows}.png"
    plots.metric_curves({f"{name}-{i}": curve for i in range(rows)}, path,
                        panels=plots.IMAGE_CURVES)
    heights.append(image.imread(path).shape[0])
  assert heights[1] > 1.5 * heights[0]  # (a legend inside the panels: equal heights)


def test_a_row_with_missing_seeds_says_how_many_of_how_many():
  """A run that diverged (or has not run yet) has no final metrics: its row
  must not look complete. Three seeds planned, two finished, one row with
  none."""
  chosen = comparison.load_preset("paper", datasets=("ring",), methods=("gan", "pacgan", "lbt"))
  finished = {"ring": {"gan": [{"seed": s, "teacher": "none", "high_quality_percent": 90.0}
                               for s in (0, 1, 2)],
                       "pacgan": [{"seed": 0, "teacher": "none", "high_quality_percent": 80.0},
                                  {"seed": 2, "teacher": "none", "high_quality_percent": 70.0}]}}
  table = comparison.markdown_table(chosen, finished)
  assert "| gan | none | 3 |" in table
  assert "| pacgan | none | 2 of 3 | " in table and "75.0 ± 7.1" in table
  assert "| lbt | kernel (KDE on K = 5 batches, h 0.383 -> 0.05, no unroll) | 0 of 3 |" in table
  assert '"n of m" seeds: only n of the row\'s m runs have finished' in table
  complete = comparison.markdown_table(chosen, {"ring": {m: finished["ring"]["gan"]
                                                        for m in ("gan", "pacgan", "lbt")}})
  assert "of 3" not in complete
