"""The command lines end to end: their own `main` in the test's process where
only files and output are looked at (`clitools.run_here`), real processes
for a fresh import, a reload and what native code prints."""

import json
import math
import subprocess
import sys

import pytest

from lbt_tf.methods import METHODS
from tests import clitools

SMALL_RUN = ["--steps", "20", "--eval-every", "10", *clitools.SMALL_RUN]
run, run_here = clitools.run, clitools.run_here


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
  workdir = tmp_path_factory.mktemp("cli") / "run"
  result = run_here("lbt_tf.train", "--dataset", "ring", "--method", "lbt-gan",
                    "--workdir", str(workdir), *SMALL_RUN)
  assert result.returncode == 0, result.stderr[-3000:]
  return workdir, result


def test_train_writes_a_complete_run_directory(trained_run):
  workdir, result = trained_run
  for name in ("config.json", "metrics.csv", "metrics.json", "density.png",
               "metrics.png", "generator/1/saved_model.pb"):
    assert (workdir / name).exists(), name
  assert list((workdir / "logs").glob("events.out.tfevents.*"))
  config = json.loads((workdir / "config.json").read_text())
  assert config["noise_dim"] == 16 and config["unroll_steps"] == 2
  metrics = json.loads((workdir / "metrics.json").read_text())
  assert metrics["num_samples"] == 20000 and metrics["step"] == 20
  rows = (workdir / "metrics.csv").read_text().strip().splitlines()
  assert len(rows) == 3 and rows[0].startswith("step,")
  assert "modes covered (20% rule)" in result.stdout


def test_exported_generator_reloads_in_a_fresh_process(trained_run):
  workdir, _ = trained_run
  check = (
      "import sys, numpy as np, tensorflow as tf\n"
      "m = tf.saved_model.load(sys.argv[1])\n"
      "f = m.signatures['serving_default']\n"
      "spec = f.structured_input_signature[1]['z']\n"
      "assert spec.shape.as_list() == [None, 16] and spec.dtype == tf.float32\n"
      "out = f(z=tf.random.normal([7, 16]))\n"
      "assert list(out) == ['samples'] and out['samples'].shape == (7, 2)\n"
      "s = m.signatures['sample']\n"
      "a = s(num_samples=tf.constant(5), seed=tf.constant(1, tf.int64))['samples']\n"
      "b = s(num_samples=tf.constant(5), seed=tf.constant(1, tf.int64))['samples']\n"
      "assert np.array_equal(a, b) and a.shape == (5, 2)\n"
      "print('ok')\n")
  result = subprocess.run([sys.executable, "-c", check, str(workdir / "generator/1")],
                          capture_output=True, text=True, timeout=300)
  assert result.stdout.strip() == "ok", result.stderr[-2000:]


def test_independent_evaluator_reproduces_the_final_metrics(trained_run):
  workdir, _ = trained_run
  result = run_here("lbt_tf.evaluate", "--model", str(workdir / "generator"),
                    "--num-samples", "20000")
  assert result.returncode == 0, result.stderr[-2000:]
  independent = json.loads(result.stdout)
  recorded = json.loads((workdir / "metrics.json").read_text())
  for key in ("modes_covered", "high_quality_percent", "intra_mode_kl",
              "intra_mode_kl_fitted", "kl_modes"):
    assert independent[key] == pytest.approx(recorded[key])


def test_a_workdir_tensorflow_would_read_as_a_pattern_is_refused(tmp_path):
  """In a real process: the one line is all it prints (TensorFlow's native
  start-up logs are silenced)."""
  result = run("lbt_tf.train", "--workdir", tmp_path / "run[1]", *SMALL_RUN)
  assert result.returncode == 1
  (line,) = result.stderr.strip().splitlines()
  assert "cannot contain *, ? or [" in line
  assert not (tmp_path / "run[1]").exists()


@pytest.mark.parametrize("args, expected", [
    (["--dataset", "mnist3d"], "unknown dataset 'mnist3d'; choose from celeb_a, cifar10, fashion_mnist, folder, grid, mnist, ring, stacked_digits, stacked_fashion_mnist"),
    (["--method", "vae"], "invalid choice: 'vae' (choose from "
                          + ", ".join(f"'{m}'" for m in METHODS.names()) + ")"),
    (["--estimator", "gmm"], "unknown estimator 'gmm'; choose from vae, iwae, flow, mixture, kde"),
    (["--radius", "nan"], "--radius must be a finite number, got nan"),
    (["--activation", "foo"], "unknown --activation 'foo'; choose from tanh"),
    (["--layout", "spiral"], "unknown --layout 'spiral'; choose from ring, grid"),
    (["--num-modes", "0"], "--num-modes must be at least 1, got 0"),
    (["--estimator-beta1", "1"], "--estimator-beta1 must be in [0, 1), got 1.0"),
    (["--steps", "many"], "--steps: expected an integer, got 'many'"),
    (["--generator-units", "128,x"], "--generator-units: expected comma-separated"),
    (["--steps", "1000", "--eval-every", "300"], "must be a multiple of --eval-every"),
    (["--num-modes", "10", "--layout", "grid", "--steps", "10", "--eval-every", "10"],
     "square number of modes"),
    # settings that would start and then fail, or train nothing (issue 25, cases 1-3)
    (["--dataset", "stacked_digits", "--fid-samples", "1"],
     "--fid-samples must be 0 (off) or at least 2"),
    (["--method", "lbt", "--estimator", "vae", "--unroll-steps", "0"],
     "--unroll-steps 0 teaches nothing: the generator's teaching gradient flows through "
     "the K estimator steps, so with K = 0 it is exactly zero; give K >= 1"),
    (["--method", "lbt-gan", "--estimator", "flow", "--unroll-steps", "0",
      "--hypergradient", "implicit"], "exactly zero and lbt-gan is a plain GAN"),
    (["--method", "lbt", "--estimator", "kde", "--unroll-steps", "0"],
     "--estimator kde is fitted to K batches of generator samples (--unroll-steps K: "
     "K x --batch-size centres); K must be at least 1"),
    (["--method", "unrolled-gan", "--unroll-steps", "0"],
     "--method unrolled-gan with --unroll-steps 0 is the plain GAN; use --method gan"),
    (["--final-bandwidth", "0.5", "--bandwidth", "0.1"],
     "--final-bandwidth (0.5) is larger than --bandwidth (0.1): the schedule shrinks"),
    (["--final-bandwidth", "0.5"], "is larger than --bandwidth (0.382683)"),
    (["--dataset", "stacked_digits", "--method", "lbt", "--estimator", "kde", "--bandwidth", "2",
      "--anneal-steps", "100"],
     "--anneal-steps needs --bandwidth and --final-bandwidth on stacked_digits"),
    (["--dataset", "stacked_digits", "--method", "lbt", "--anneal-steps", "100"],
     "--anneal-steps does nothing to --method lbt --estimator vae (no bandwidth schedule)"),
])
def test_bad_arguments_fail_in_one_line(tmp_path, args, expected):
  result = run_here("lbt_tf.train", "--workdir", str(tmp_path / "w"), *args)
  assert result.returncode != 0
  lines = result.stderr.strip().splitlines()
  assert len(lines) == 1, result.stderr
  assert expected in lines[0]
  assert not (tmp_path / "w").exists()  # nothing written


def test_config_json_holds_the_bandwidths_the_run_used(trained_run):
  """--bandwidth 0 and --final-bandwidth 0 mean "from the mixture": the ring's
  kernel goes from half the distance between neighbouring modes (sin(pi/8))
  to half their std, and config.json says so."""
  workdir, _ = trained_run
  config = json.loads((workdir / "config.json").read_text())
  assert config["estimator"] == "kde" and config["anneal_steps"] == 3000
  assert config["bandwidth"] == pytest.approx(math.sin(math.pi / 8))
  assert config["final_bandwidth"] == pytest.approx(0.05)


def test_rerunning_a_finished_run_changes_nothing(trained_run):
  """Also when its config.json was written before the bandwidths were stored
  as used (0.0: "from the mixture"): that is the same run."""
  workdir, _ = trained_run
  before = (workdir / "config.json").read_text()
  older = dict(json.loads(before), bandwidth=0.0, final_bandwidth=0.0)
  (workdir / "config.json").write_text(json.dumps(older, indent=2))
  result = run_here("lbt_tf.train", "--workdir", str(workdir), *SMALL_RUN)
  assert result.returncode == 0, result.stderr[-2000:]
  assert "resuming from the checkpoint at step 20" in result.stdout
  assert sorted(p.name for p in (workdir / "generator").iterdir()) == ["1"]
  assert (workdir / "config.json").read_text() == before


def test_a_run_with_other_settings_is_never_mixed_in(trained_run):
  workdir, _ = trained_run
  before = (workdir / "config.json").read_text()
  result = run_here("lbt_tf.train", "--workdir", str(workdir), *SMALL_RUN,
                    "--unroll-steps", "3")
  assert result.returncode == 1
  assert result.stderr.strip().splitlines() == [
      f"lbt_tf.train: error: {workdir} holds a run with other settings "
      "(unroll_steps: 3 vs 2); resume it with --resume or choose a new --workdir"]
  assert (workdir / "config.json").read_text() == before


def test_evaluator_on_a_missing_model_fails_in_one_line(tmp_path):
  result = run("lbt_tf.evaluate", "--model", str(tmp_path / "nothing"))
  assert result.returncode == 1
  assert result.stderr.strip().splitlines() == [
      f"lbt_tf.evaluate: error: no SavedModel at {tmp_path / 'nothing'}: no such directory"]
  (tmp_path / "empty").mkdir()
  result = run("lbt_tf.evaluate", "--model", str(tmp_path / "empty"))
  assert result.stderr.strip().splitlines() == [
      f"lbt_tf.evaluate: error: no SavedModel in {tmp_path / 'empty'}: expected "
      "saved_model.pb or numbered version folders (BASE/1/saved_model.pb)"]
  (tmp_path / "foreign" / "1").mkdir(parents=True)
  (tmp_path / "foreign" / "1" / "notes.txt").write_text("not a model")
  result = run_here("lbt_tf.evaluate", "--model", str(tmp_path / "foreign"),
                    "--dataset", "ring")
  assert result.returncode == 1 and result.stderr.startswith(
      f"lbt_tf.evaluate: error: {tmp_path / 'foreign' / '1'} is not a loadable "
      "generator SavedModel ")


def test_evaluator_refuses_to_score_points_as_images_in_one_line(trained_run):
  workdir, _ = trained_run
  result = run_here("lbt_tf.evaluate", "--model", str(workdir / "generator"),
                    "--dataset", "stacked_digits")
  assert result.returncode == 1
  assert result.stderr.strip().splitlines() == [
      f"lbt_tf.evaluate: error: {workdir / 'generator' / '1'} generates 2-D points; "
      "--dataset stacked_digits is not that kind of data"]


def test_evaluator_says_when_the_chosen_mixture_is_not_the_exports(trained_run):
  workdir, _ = trained_run
  result = run_here("lbt_tf.evaluate", "--model", str(workdir / "generator"),
                    "--dataset", "grid", "--num-samples", "2000")
  assert result.returncode == 0, result.stderr[-2000:]
  (note,) = [l for l in result.stderr.splitlines() if l.startswith("lbt_tf.evaluate: note:")]
  assert "was trained on another mixture (ring:" in note and "--dataset grid as asked" in note
  assert json.loads(result.stdout)["num_modes"] == 100
