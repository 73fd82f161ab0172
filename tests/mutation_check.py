"""Break the code on purpose, one mutation at a time, and list what catches each.

  python tests/mutation_check.py             # every mutation
  python tests/mutation_check.py --only a-no-teaching-gradient --skip-baseline
  python tests/mutation_check.py --only f-intra-mode-kl-drops-missing-modes \
      --tests tests/test_mixture_metrics.py::test_a_generator_collapsed_on_one_mode_has_a_worse_intra_mode_kl_than_a_perfect_one
  python tests/mutation_check.py --list       # the mutations and their tests
  python tests/mutation_check.py --dry-run    # does every mutation still apply?

Each mutation replaces one exact piece of text in one source file of a
*copy* of this checkout (a temporary directory; the real files are never
touched), runs the mutation's test files on that copy in one process
(`python -m pytest -p no:xdist`, with the copy first on PYTHONPATH, so that
subprocesses started by the tests import the copy too) and records which
tests failed. At the end it prints one row per mutation: the tests that
caught it, or NOT CAUGHT. A mutation whose text is not found (the code
changed) is reported STALE, and one whose result does not compile BROKEN;
neither is run: update its text here.

First, the same test files run once on an unmutated copy (the baseline): a
test that fails there catches nothing, and is reported.

To add a mutation, add one `Mutation(name, file, old, new, tests)` to
MUTATIONS. The file is named as in the checkout (`trainers/lbt.py`); `old`
must occur exactly once in it.

This file is a script, not a test module: pytest does not collect it (no
`test_` prefix). It takes minutes per mutation on 2 cores; run it alone.
"""

import argparse
import dataclasses
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from typing import Tuple

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Installed package layout (pyproject.toml [tool.setuptools.package-dir]):
# these top-level directories are the subpackages lbt_tf.<name>.
SUBPACKAGES = {"trainers": "trainers", "export": "export"}
IGNORED = shutil.ignore_patterns(".git", "runs", "__pycache__", "*.egg-info",
                                 ".pytest_cache", ".venv*")


@dataclasses.dataclass(frozen=True)
class Mutation:
  """Replace `old` (exactly once in `file`) by `new`; `tests`: pytest
  arguments (files or node ids) expected to catch it."""

  name: str
  file: str
  old: str
  new: str
  tests: Tuple[str, ...]


UNROLL_TESTS = ("tests/test_hypergradient.py", "tests/test_trainers.py", "tests/test_unroll.py")
KDE_TESTS = ("tests/test_estimators.py", "tests/test_trainers.py", "tests/test_unroll.py")

MUTATIONS = [
    Mutation(
        "a-no-teaching-gradient", "lbt_tf/hypergradient.py",
        "    theta = [tf.stop_gradient(tf.convert_to_tensor(v)) for v in variables]\n",
        "    theta = [tf.stop_gradient(tf.convert_to_tensor(v)) for v in variables]\n"
        "    return outer(theta)  # MUTATION: the outer objective, no teaching gradient\n",
        UNROLL_TESTS),
    Mutation(
        "b-no-real-estimator-steps", "trainers/lbt.py",
        "    for fake in self.generate_batches(tf.shape(reals[0])[0], self.estimator_steps):",
        "    for fake in self.generate_batches(tf.shape(reals[0])[0], self.estimator_steps)[:0]:"
        "  # MUTATION: the M real estimator steps skipped",
        UNROLL_TESTS),
    Mutation(
        "c-f_G-on-generator-samples", "trainers/lbt.py",
        "      return self.estimator.mean_log_likelihood(theta, real, real_noise)",
        "      return self.estimator.mean_log_likelihood(theta, fakes[-1], real_noise)  # MUTATION",
        UNROLL_TESTS),
    Mutation(
        "d-no-gradient-through-adams-first-moment", "lbt_tf/unroll.py",
        "      m = m + (g - m) * (1 - b1)",
        "      m = tf.stop_gradient(m) + (g - tf.stop_gradient(m)) * (1 - b1)  # MUTATION",
        ("tests/test_hypergradient.py", "tests/test_unroll.py")),
    Mutation(
        "e1-kde-without-its-log-n-normaliser", "lbt_tf/estimators/kde.py",
        "            - tf.math.log(n) - dim * (tf.math.log(h)",
        "            - dim * (tf.math.log(h)",
        KDE_TESTS),
    Mutation(
        "e2-kde-a-wider-kernel-than-its-bandwidth", "lbt_tf/estimators/kde.py",
        "    h = tf.cast(h, x.dtype)\n",
        "    h = tf.cast(h, x.dtype) * 1.5  # MUTATION: not the schedule's bandwidth\n",
        KDE_TESTS),
    Mutation(
        "e3-kde-bandwidth-of-the-wrong-step", "lbt_tf/estimators/kde.py",
        "    return [flat(samples), self.bandwidth_at(step)]",
        "    return [flat(samples), self.bandwidth_at(0)]  # MUTATION: the schedule ignored",
        KDE_TESTS),
    Mutation(
        "f-intra-mode-kl-drops-missing-modes", "lbt_tf/metrics/mixture_metrics.py",
        '      "intra_mode_kl": float(per_mode.mean()),',
        '      "intra_mode_kl": float(np.mean(fitted)) if fitted else float("nan"),  # MUTATION',
        ("tests/test_mixture_metrics.py",)),
    Mutation(
        "f2-old-runs-kl-shown-as-the-all-mode-kl", "lbt_tf/comparison.py",
        "  if not old:\n    return metrics\n",
        "  if True:  # MUTATION: an old run's fitted-modes KL under the all-mode name\n"
        "    return metrics\n",
        ("tests/test_comparison.py::test_a_run_recorded_before_the_all_mode_kl_shows_its_kl_as_the_fitted_one",)),
    Mutation(
        "g-stop-second-moment-ignored", "lbt_tf/unroll.py",
        "                float(optimizer.epsilon), stop_second_moment)",
        "                float(optimizer.epsilon), True)  # MUTATION: the flag ignored",
        ("tests/test_hypergradient.py", "tests/test_unroll.py")),
    Mutation(
        "h-bernoulli-elbo-binarised", "lbt_tf/estimators/vae.py",
        "    return self.decode(z).log_prob(x) - tfd.kl_divergence(q, self.prior())",
        "    if self.likelihood == 'bernoulli':  # MUTATION: grey levels rounded to 0 / 1\n"
        "      x = tf.round(x)\n"
        "    return self.decode(z).log_prob(x) - tfd.kl_divergence(q, self.prior())",
        ("tests/test_estimators.py",)),
    Mutation(
        "i-fid-unlabelled", "lbt_tf/metrics/image_metrics.py",
        '  return f"{metric} (Keras InceptionV3, n={n})"',
        '  return metric  # MUTATION: FID/KID columns without their protocol',
        ("tests/test_image_metrics.py",)),
    # The code of the real-image turn: the kernel teacher on pixels, its
    # bandwidths, the warm-up refusal, the IDX loader, the equal-time budget.
    Mutation(
        "j-kde-images-a-kernel-per-pixel-row", "lbt_tf/estimators/kde.py",
        "  return tf.reshape(x, [tf.shape(x)[0], -1]) if len(x.shape) != 2 else x",
        "  return tf.reshape(x, [-1, x.shape[-2] * x.shape[-1]]) if len(x.shape) != 2 else x"
        "  # MUTATION: each pixel row a point",
        ("tests/test_estimators.py::test_a_kde_of_images_is_the_kde_of_their_flattened_pixels",)),
    Mutation(
        "k-image-fine-bandwidth-from-the-nearest-distance", "lbt_tf/smoothing.py",
        '          "fine": float(np.sqrt(np.median(d2[:, 1] - d2[:, 0]) / 2)),',
        '          "fine": float(np.sqrt(np.median(d2[:, 0]) / 2)),  # MUTATION: not the gap',
        ("tests/test_estimators.py::test_image_bandwidths_by_hand",
         "tests/test_fashion_mnist.py::test_image_bandwidths_are_read_off_the_datas_distances")),
    Mutation(
        "l-warmup-past-the-last-step-accepted", "lbt_tf/config.py",
        '    if self.method == "lbt-gan" and self.teaching_warmup >= self.steps:',
        '    if False:  # MUTATION: a silent GAN',
        ("tests/test_image_training.py::test_image_settings_fail_with_one_clear_line",)),
    Mutation(
        "m-idx-data-read-from-inside-the-header", "lbt_tf/data/fashion_mnist.py",
        "  header = 4 + 4 * ndim\n",
        "  header = 4 * ndim  # MUTATION: the last dimension read as pixels\n",
        ("tests/test_fashion_mnist.py::test_the_idx_reader_reads_what_was_written",
         "tests/test_fashion_mnist.py::test_the_installed_files_are_the_original_fashion_mnist")),
    Mutation(
        "n-budget-priced-at-the-warm-up-cost", "lbt_tf/costs.py",
        "    affordable = left / phases[start]\n",
        "    affordable = left / phases[starts[0]]  # MUTATION: every phase at the first's cost\n",
        ("tests/test_comparison.py::test_a_time_budget_buys_iterations_at_each_phases_cost",)),
    Mutation(
        "o-trained-estimator-smoothed-unasked", "lbt_tf/config.py",
        '    return self.estimator == "kde" or self.smooth_estimator\n',
        '    return self.estimator == "kde" or self.method in TEACHING_METHODS'
        '  # MUTATION: a preset\'s kernel schedule smooths any estimator taught\n',
        ("tests/test_trainers.py::test_a_trained_estimator_is_smoothed_only_when_asked",)),
    Mutation(
        "p-tfds-retries-back-while-downloads-start", "lbt_tf/data/tfds_download.py",
        "    tfds.enable_progress_bar()\n  downloader.MAX_RETRIES = saved",
        "    tfds.enable_progress_bar()\n    downloader.MAX_RETRIES = saved  # MUTATION: on failure too",
        ("tests/test_reliability.py::test_after_an_offline_failure_no_download_thread_retries",)),
    Mutation(
        "q-an-ignored-interrupt-not-raised-again", "lbt_tf/callbacks.py",
        "    if not self.model.stop_training:\n      raise_if_signalled()",
        "    if False:  # MUTATION: a signal whose exception Python ignored is forgotten\n"
        "      raise_if_signalled()",
        ("tests/test_reliability.py::test_a_signal_whose_interrupt_python_ignores_still_stops_training",)),
    Mutation(
        "r-brc-lambda-back-to-1", "lbt_tf/config.py",
        '      100.0, "implicit, outer-product',
        '      1.0, "implicit, outer-product',  # MUTATION: the default that diverged
        ("tests/test_baselines.py::test_brc_gan_at_its_default_lambda_stays_on_the_data",)),
    Mutation(
        "s-a-signal-lost-in-the-final-export-forgotten", "lbt_tf/train_lib.py",
        "    callbacks.raise_if_signalled()  # a signal lost during the export\n"
        "    # The final numbers are the exported generator's, not the live model's.\n"
        "    exported = generators.load(export_dir)\n"
        "    metrics = scorer.final(exported.generate, step)\n"
        "    callbacks.raise_if_signalled()  # or during the scoring\n",
        "    # MUTATION: a signal lost during the final export or scoring is forgotten\n"
        "    exported = generators.load(export_dir)\n"
        "    metrics = scorer.final(exported.generate, step)\n",
        ("tests/test_reliability.py::test_a_signal_lost_during_the_final_export_still_stops_the_run",)),
    Mutation(
        "s2-a-signal-lost-in-the-final-scoring-forgotten", "lbt_tf/train_lib.py",
        "    callbacks.raise_if_signalled()  # or during the scoring\n",
        "    # MUTATION: a signal lost during the final scoring is forgotten\n",
        ("tests/test_reliability.py::test_a_signal_lost_during_the_final_export_still_stops_the_run",)),
    Mutation(
        "t-sherman-morrison-sign", "lbt_tf/hypergradient.py",
        "  return [(bi - scale * ui) / damping for ui, bi in zip(u, b)]",
        "  return [(bi + scale * ui) / damping for ui, bi in zip(u, b)]  # MUTATION",
        ("tests/test_hypergradient.py::test_the_outer_product_solve_is_the_inverse_of_g_g_transpose_plus_lambda",
         "tests/test_hypergradient.py::test_outer_product_hypergradient_on_a_quadratic_differs_from_the_exact_one_as_predicted",
         "tests/test_baselines.py::test_brc_generator_gradient_is_the_implicit_formula_with_the_outer_product_hessian")),
    Mutation(
        "u-records-restore-cut-short-runs", "lbt_tf/records.py",
        "        or not all((kept / name).exists() for name in RUN_FILES)):",
        "        ):  # MUTATION: a record cut short before its other files counts",
        ("tests/test_comparison.py::test_only_whole_finished_records_are_restored_and_an_attempt_is_set_aside",)),
    Mutation(
        "v-records-not-kept-as-runs-finish", "lbt_tf/comparison.py",
        "        if on_finish:\n          on_finish()\n",
        "        # MUTATION: --records updated only at the end\n",
        ("tests/test_comparison.py::test_a_killed_comparison_leaves_no_training_behind",)),
    Mutation(
        "w-records-keep-no-pictures", "lbt_tf/records.py",
        'PICTURES = ("samples.png", "density.png")',
        "PICTURES = ()  # MUTATION: a study's sample grids lost with its machine",
        ("tests/test_comparison.py::test_only_whole_finished_records_are_restored_and_an_attempt_is_set_aside",
         "tests/test_comparison.py::test_equal_time_plans_once_measured_alone_and_resumes_with_the_same_plan")),
    # The equal-time plan's interleaved rounds.
    Mutation(
        "x-plan-rounds-not-interleaved", "lbt_tf/comparison.py",
        "  for round_ in range(rounds):\n    for dataset, row in todo:\n",
        "  for dataset, row in todo:  # MUTATION: each row's rounds back to back\n"
        "   for round_ in range(rounds):\n",
        ("tests/test_comparison.py::test_equal_time_plans_once_measured_alone_and_resumes_with_the_same_plan",)),
    Mutation(
        "y-plan-priced-at-the-last-round", "lbt_tf/comparison.py",
        "  phases = {k: min(r[k] for r in rounds) for k in sorted(rounds[0])}",
        "  phases = {k: rounds[-1][k] for k in sorted(rounds[0])}  # MUTATION: not the least",
        ("tests/test_comparison.py::test_a_time_budget_buys_iterations_at_each_phases_cost",)),
    Mutation(
        "z-an-interrupted-plan-measured-again", "lbt_tf/comparison.py",
        "      if len(taken) > round_ and len(taken) < rounds:\n        continue",
        "      if False:  # MUTATION: rounds measured before an interruption measured again\n"
        "        continue",
        ("tests/test_comparison.py::test_an_interrupted_plan_measures_only_its_missing_rounds",)),
    Mutation(
        "z2-a-row-with-all-its-rounds-never-priced", "lbt_tf/comparison.py",
        "      if len(taken) > round_ and len(taken) < rounds:\n",
        "      if len(taken) > round_:  # MUTATION: a row whose rounds are all in, skipped\n",
        ("tests/test_comparison.py::test_a_plans_rounds_are_its_own_and_of_one_machine",)),
    Mutation(
        "z3-the-plan-written-only-once-a-row-is-priced", "lbt_tf/comparison.py",
        "      write_plan(path, stored)\n      if on_measured:\n        on_measured()\n"
        "  return read_budget",
        "        write_plan(path, stored)  # MUTATION: a cut-off plan loses its rounds\n"
        "        if on_measured:\n          on_measured()\n  return read_budget",
        ("tests/test_comparison.py::test_an_interrupted_plan_measures_only_its_missing_rounds",)),
    Mutation(
        "z4-records-carry-another-machines-rounds", "lbt_tf/records.py",
        "        and all(m.get(\"machine\") == here for m in taken)):",
        "        ):  # MUTATION: another machine's rounds taken",
        ("tests/test_comparison.py::test_a_plans_rounds_are_its_own_and_of_one_machine",)),
    Mutation(
        "z5-the-plans-rounds-not-stored", "lbt_tf/comparison.py",
        '  stored["plan_rounds"] = rounds\n',
        "  # MUTATION: a resumed plan cannot tell how many rounds its rows had\n",
        ("tests/test_comparison.py::test_equal_time_plans_once_measured_alone_and_resumes_with_the_same_plan",)),
]


def copy_checkout(destination: pathlib.Path) -> pathlib.Path:
  """This checkout, importable as the installed package from `destination`."""
  repo = destination / "repo"
  shutil.copytree(ROOT, repo, ignore=IGNORED, symlinks=True)
  for subpackage, directory in SUBPACKAGES.items():
    (repo / "lbt_tf" / subpackage).symlink_to(pathlib.Path("..") / directory)
  return repo


def environment(repo: pathlib.Path):
  path = os.environ.get("PYTHONPATH")
  return dict(os.environ, PYTHONPATH=str(repo) + (os.pathsep + path if path else ""),
              PYTHONDONTWRITEBYTECODE="1")


def check_imports_the_copy(repo: pathlib.Path):
  """Fail loudly if `lbt_tf` or a subpackage would come from elsewhere (an
  editable install of the real checkout): the mutation would not count."""
  modules = ["lbt_tf.hypergradient"] + [f"lbt_tf.{name}" for name in SUBPACKAGES]
  code = ("import importlib, sys; print('\\n'.join(importlib.import_module(m).__file__ "
          "for m in sys.argv[1:]))")
  result = subprocess.run([sys.executable, "-c", code, *modules], cwd=repo,
                          env=environment(repo), capture_output=True, text=True, check=True)
  for module, location in zip(modules, result.stdout.split()):
    if not location.startswith(str(repo)):
      raise SystemExit(f"mutation_check: {module} imports from {location}, not the copy {repo}")


def failed_tests(repo: pathlib.Path, tests, log: pathlib.Path):
  """Run `tests` on the copy; the node ids of those that failed or errored,
  and the seconds taken."""
  report = repo / "mutation-report.xml"
  start = time.time()
  with open(log, "w") as out:
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist",
                    "-p", "no:cacheprovider", "-o", "addopts=",
                    f"--junitxml={report}", *tests],
                   cwd=repo, env=environment(repo), stdout=out, stderr=subprocess.STDOUT,
                   check=False)
  seconds = time.time() - start
  if not report.exists():
    return ["(pytest did not run: see " + str(log) + ")"], seconds
  failed = []
  for case in ElementTree.parse(report).getroot().iter("testcase"):
    if case.find("failure") is not None or case.find("error") is not None:
      module = case.get("classname", "").replace(".", "/")
      failed.append(f"{module}.py::{case.get('name')}" if module else case.get("name"))
  report.unlink()
  return failed, seconds


def mutated_text(mutation: Mutation, root: pathlib.Path):
  """The mutated file's text, or why the mutation cannot apply."""
  text = (root / mutation.file).read_text()
  if text.count(mutation.old) != 1:
    return None, "STALE: its text is not found exactly once"
  mutated = text.replace(mutation.old, mutation.new)
  try:
    compile(mutated, mutation.file, "exec")
  except SyntaxError as e:  # it would be "caught" by every test, for nothing
    return None, f"BROKEN: the mutated file does not compile ({e.msg}, line {e.lineno})"
  return mutated, None


def summary(node_ids) -> str:
  """Failed tests, one entry per test function, parametrised cases counted."""
  cases = {}
  for node_id in node_ids:
    name = node_id.replace("tests/", "").split("[")[0]
    cases[name] = cases.get(name, 0) + 1
  return ", ".join(name + (f" ({count} cases)" if count > 1 else "")
                   for name, count in cases.items())


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--only", nargs="*", default=None, help="mutation names")
  parser.add_argument("--skip-baseline", action="store_true",
                      help="do not run the tests on an unmutated copy first")
  parser.add_argument("--list", action="store_true", help="list the mutations and exit")
  parser.add_argument("--dry-run", action="store_true",
                      help="only check that every mutation's text is found (STALE if not)")
  parser.add_argument("--tests", nargs="+", default=None,
                      help="run these pytest arguments instead of each mutation's tests")
  parser.add_argument("--keep", action="store_true", help="keep the copies")
  args = parser.parse_args(argv)
  chosen = [m for m in MUTATIONS if args.only is None or m.name in args.only]
  unknown = set(args.only or ()) - {m.name for m in MUTATIONS}
  if unknown:
    parser.error(f"unknown mutation(s) {', '.join(sorted(unknown))}; "
                 f"choose from {', '.join(m.name for m in MUTATIONS)}")
  if args.list:
    for m in MUTATIONS:
      print(f"{m.name}: {m.file}; tests {' '.join(m.tests)}")
    return 0
  if args.dry_run:
    problems = [(m.name, mutated_text(m, ROOT)[1]) for m in chosen]
    problems = [f"{name}: {why}" for name, why in problems if why]
    print("\n".join(problems) if problems else f"all {len(chosen)} mutations apply")
    return 1 if problems else 0

  workspace = pathlib.Path(tempfile.mkdtemp(prefix="lbt-mutation-"))
  print(f"copies and pytest logs under {workspace} (the logs are kept)", flush=True)
  try:
    broken_at_baseline = set()
    if not args.skip_baseline:
      repo = copy_checkout(workspace / "baseline")
      check_imports_the_copy(repo)
      tests = args.tests or sorted({t for m in chosen for t in m.tests})
      broken_at_baseline, seconds = failed_tests(repo, tests, workspace / "baseline.log")
      broken_at_baseline = set(broken_at_baseline)
      print(f"baseline ({seconds:.0f} s): "
            + (f"FAILING UNMUTATED: {summary(sorted(broken_at_baseline))}"
               if broken_at_baseline else "every test passes"), flush=True)
    rows = []
    for mutation in chosen:
      mutated, problem = mutated_text(mutation, ROOT)
      if problem:
        rows.append((mutation, problem))
        print(f"{mutation.name}: {problem}", flush=True)
        continue
      repo = copy_checkout(workspace / mutation.name)
      (repo / mutation.file).write_text(mutated)
      check_imports_the_copy(repo)
      failed, seconds = failed_tests(repo, args.tests or mutation.tests,
                                     workspace / f"{mutation.name}.log")
      caught = [t for t in failed if t not in broken_at_baseline]
      verdict = summary(caught) if caught else "NOT CAUGHT"
      rows.append((mutation, verdict))
      print(f"{mutation.name} ({seconds:.0f} s): {verdict}", flush=True)
      if not args.keep:
        shutil.rmtree(repo.parent)
  finally:
    if not args.keep:
      shutil.rmtree(workspace / "baseline", ignore_errors=True)

  print("\n| mutation | file | caught by |\n|---|---|---|")
  for mutation, verdict in rows:
    print(f"| {mutation.name} | {mutation.file} | {verdict} |")
  return 0 if all(v != "NOT CAUGHT" and not v.startswith(("STALE", "BROKEN"))
                  for _, v in rows) else 1


if __name__ == "__main__":
  sys.exit(main())
