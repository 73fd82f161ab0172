"""The run configuration, in process: presets, overrides, parsing, checks,
derived periods, and a --help that needs no TensorFlow."""

import dataclasses
import json
import re

import pytest

from lbt_tf import config as config_lib
from lbt_tf.data import datasets
from tests import clitools


def test_a_preset_overrides_the_defaults_and_the_command_line_the_preset():
  config = config_lib.make_config("grid", {"std": 0.02})
  assert (config.layout, config.num_modes, config.std) == ("grid", 100, 0.02)
  assert config.noise_dim == config_lib.Config.noise_dim  # not in the preset


def test_folder_paths_name_the_folder_preset():
  config = config_lib.make_config("folder:/data/faces", {})
  assert (config.dataset, config.data_dir) == ("folder", "/data/faces")


@pytest.mark.parametrize("name, text, value", [
    ("steps", "300", 300), ("std", "0.05", 0.05), ("generator_units", "64, 32", (64, 32)),
    ("jit_compile", "yes", True), ("stop_second_moment", "off", False),
    ("estimator", "flow", "flow")])
def test_command_line_text_becomes_the_fields_type(name, text, value):
  assert config_lib.parse_value(name, text) == value


@pytest.mark.parametrize("name, text, message", [
    ("steps", "1e3", "--steps: expected an integer, got '1e3'"),
    ("generator_units", "64,0", "--generator-units: expected comma-separated positive"),
    ("jit_compile", "maybe", "--jit-compile: expected true or false")])
def test_unparseable_text_is_refused_in_one_line(name, text, message):
  with pytest.raises(ValueError, match=message):
    config_lib.parse_value(name, text)


@pytest.mark.parametrize("overrides, message", [
    ({"method": "vae"}, "unknown method 'vae'; choose from lbt, lbt-gan"),
    ({"estimator": "gmm"}, "unknown estimator 'gmm'"),
    ({"radius": float("nan")}, "--radius must be a finite number"),
    ({"std": float("inf")}, "--std must be a finite number"),
    ({"std": 0.0}, "--std must be positive"),
    ({"layout": "spiral"}, "unknown --layout 'spiral'"),
    ({"activation": "foo"}, "unknown --activation 'foo'"),
    ({"num_modes": 0}, "--num-modes must be at least 1"),
    ({"layout": "grid", "num_modes": 10}, "square number of modes"),
    ({"generator_beta1": 1.0}, "--generator-beta1 must be in [0, 1)"),
    ({"unroll_lr": -1e-4}, "--unroll-lr must be >= 0"),
    ({"flow_bins": 1}, "--flow-bins must be at least 2"),
    ({"steps": 1000, "eval_every": 300}, "must be a multiple of --eval-every"),
    ({"scale_teaching": True, "anneal_steps": 0}, "--scale-teaching true needs an annealed"),
    # the schedule reaches a trained estimator only through --smooth-estimator
    ({"method": "lbt", "estimator": "vae", "anneal_steps": 100},
     "--anneal-steps does nothing to --method lbt --estimator vae (no bandwidth schedule); "
     "add --smooth-estimator true"),
    ({"method": "lbt-gan", "estimator": "mixture", "bandwidth": 0.2},
     "--bandwidth does nothing to --method lbt-gan --estimator mixture"),
    ({"method": "lbt-gan", "estimator": "vae", "scale_teaching": True},
     "--scale-teaching true does nothing to --method lbt-gan --estimator vae"),
    ({"method": "estimator", "estimator": "vae", "final_bandwidth": 0.1},
     "--final-bandwidth does nothing to --method estimator --estimator vae (no bandwidth "
     "schedule); drop it"),
    ({"method": "gan", "smooth_estimator": True},
     "--smooth-estimator true smooths the trained estimator LBT and LBT-GAN teach"),
    ({"method": "lbt", "estimator": "kde", "smooth_estimator": True},
     "a KDE's kernel is the schedule itself"),
    ({"implicit_solver": "outer-product", "outer_product_lambda": 0.0},
     "--outer-product-lambda must be positive"),
    ({"method": "gan", "outer_product_lambda": 10.0},
     "--outer-product-lambda does nothing to --method gan --implicit-solver cg"),
    ({"implicit_solver": "lbfgs"}, "unknown --implicit-solver 'lbfgs'; choose from cg, "
                                   "neumann, outer-product"),
    ({"method": "vgan", "energy_units": 0}, "--energy-units must be at least 1"),
])
def test_bad_values_are_refused_with_the_flag_named(overrides, message):
  with pytest.raises(ValueError, match=re.escape(message)):
    config_lib.make_config("ring", overrides)


def test_unknown_datasets_list_the_known_ones():
  with pytest.raises(ValueError, match="unknown dataset 'moons'; choose from celeb_a, "
                                       "cifar10, fashion_mnist, folder, grid, mnist, ring"):
    config_lib.make_config("moons", {})


def test_periods_are_derived_from_steps_and_never_stored_shrunk():
  short = config_lib.make_config("ring", {"steps": 50})
  assert (short.eval_period, short.checkpoint_period, short.execution_steps) == (50, 50, 10)
  assert short.eval_every == 500  # stored as chosen: extending the run keeps it
  longer = config_lib.make_config("ring", {"steps": 100})
  assert short.differences(longer) == []  # only --steps differs: the same run
  assert longer.eval_period == 100
  odd = config_lib.make_config("ring", {"steps": 1200, "eval_every": 400,
                                        "checkpoint_every": 300})
  assert odd.execution_steps == 10  # divides both periods
  assert config_lib.make_config("ring", {"steps": 4}).execution_steps == 2


def test_differences_name_each_setting_and_ignore_where_things_are():
  a = config_lib.make_config("ring", {})
  b = config_lib.make_config("ring", {"unroll_steps": 3, "data_dir": "/elsewhere",
                                      "steps": 10})
  assert a.differences(b) == ["unroll_steps: 5 vs 3"]


def test_a_saved_config_round_trips_and_unknown_settings_are_refused():
  config = config_lib.make_config("grid", {"estimator": "flow", "estimator_units": (64,)})
  assert config_lib.Config.from_json(config.to_json()) == config
  with pytest.raises(ValueError, match="unknown settings colour"):
    config_lib.Config.from_json('{"colour": "blue"}')


@pytest.mark.parametrize("method, estimator, bandwidth, smoothed", [
    ("lbt", "vae", 0.38, True), ("lbt-gan", "mixture", 0.38, True),
    ("lbt", "vae", 0.0, False), ("lbt", "kde", 0.38, False), ("gan", "kde", 0.38, False)])
def test_a_config_saved_before_smooth_estimator_resumes_as_it_trained(
    method, estimator, bandwidth, smoothed):
  """Before --smooth-estimator, a trained estimator followed any schedule
  whose first bandwidth was set: an old config.json resumes that way."""
  saved = json.loads(config_lib.make_config("ring", {"method": method}).to_json())
  del saved["smooth_estimator"]
  saved.update(estimator=estimator, bandwidth=bandwidth, final_bandwidth=bandwidth / 8,
               anneal_steps=3000 if bandwidth else 0)
  config = config_lib.Config.from_json(json.dumps(saved))
  assert config.smooth_estimator == smoothed
  if smoothed:  # its schedule kept, not zeroed as unused
    assert (config.bandwidth, config.anneal_steps) == (0.38, 3000)


def test_a_run_saved_before_lambda_was_100_resumes_and_brc_keeps_its_own():
  """The outer-product lambda is stored as 0 where unused, so a config.json
  saved when its default was 1 (every run stored it) still matches today's
  settings; a brc-gan run keeps the lambda it trained with."""
  for method in ("gan", "lbt", "brc-gan"):
    saved = json.loads(config_lib.make_config("ring", {"method": method}).to_json())
    saved["outer_product_lambda"] = 1.0  # the old default
    old = config_lib.Config.from_json(json.dumps(saved))
    new = config_lib.make_config("ring", {"method": method})
    if method == "brc-gan":
      assert new.outer_product_lambda == 100.0
      assert old.differences(new) == ["outer_product_lambda: 1.0 vs 100.0"]
    else:
      assert (old.outer_product_lambda, old.differences(new)) == (0.0, [])
  outer = config_lib.make_config("ring", {"method": "lbt", "implicit_solver": "outer-product"})
  assert outer.outer_product_lambda == 100.0


def test_every_setting_is_documented_and_in_exactly_one_help_group():
  grouped = [name for _, names in config_lib.GROUPS for name in names]
  fields = [f.name for f in dataclasses.fields(config_lib.Config) if f.name != "dataset"]
  assert sorted(grouped) == sorted(fields)
  assert all(f.metadata.get("help") for f in dataclasses.fields(config_lib.Config))


def test_every_preset_describes_its_data_and_makes_a_valid_config():
  for name in datasets.names():
    dataset = datasets.get(name)
    assert dataset.kind in datasets.KINDS
    overrides = {"data_dir": "/somewhere"} if name == "folder" else {}
    config_lib.make_config(name, overrides)


def test_help_shows_the_chosen_presets_values_without_tensorflow():
  result = clitools.run_fresh_and_list_tensorflow("lbt_tf.train", "--dataset", "grid", "--help")
  out = result.stdout
  assert out.strip().endswith("no tensorflow"), out[-500:]
  assert "2-D mixture (defaults: the grid preset):" in out
  assert "--num-modes VALUE" in out and "[100]" in out and "[0.01]" in out
  assert "density estimator (defaults: the grid preset):" in out


@pytest.mark.parametrize("dataset, overrides, teacher", [
    ("ring", {"method": "gan"}, "none"),
    ("ring", {"method": "unrolled-gan"}, "none"),  # it unrolls D, it teaches nothing
    ("ring", {}, "kernel (KDE on K = 5 batches, h 0.383 -> 0.05, no unroll)"),  # the preset's
    ("ring", {"bandwidth": 0.2, "anneal_steps": 0, "unroll_steps": 2},
     "kernel (KDE on K = 2 batches, h 0.2, no unroll)"),
    ("ring", {"estimator": "vae"},  # the paper's algorithm, the authors' schedule
     "vae (M = 10 at lr 0.0003, K = 5 unrolled at lr 0.0001)"),
    ("veegan-ring", {"estimator": "vae"}, "vae (M = 2, K = 5 unrolled, lr 0.001)"),
    ("ring", {"estimator": "vae", "smooth_estimator": True},
     "vae (M = 10 at lr 0.0003, K = 5 unrolled at lr 0.0001, smoothed h 0.383 -> 0.05)"),
    ("ring", {"estimator": "mixture", "hypergradient": "truncated", "truncate_steps": 2},
     "mixture (M = 10 at lr 0.0003, K = 5 unrolled at lr 0.0001, the last 2 differentiated)"),
    ("ring", {"estimator": "flow", "hypergradient": "implicit", "implicit_solver": "neumann"},
     "flow (M = 10, implicit (neumann), lr 0.0003)"),
    ("stacked_fashion_mnist", {"method": "lbt-gan", "estimator": "vae", "hypergradient": "implicit",
                               "implicit_solver": "outer-product"},
     "vae (M = 15, implicit (outer-product), lr 0.0003)"),
    ("ring", {"method": "estimator", "estimator": "flow"}, "flow (fitted to the data)"),
    ("ring", {"method": "estimator", "estimator": "kde"}, "kde (fitted to the data)"),
])
def test_every_row_can_say_which_teacher_produced_it(dataset, overrides, teacher):
  """`Config.teacher`, the comparison tables' teacher column: the kernel
  teacher is never mistaken for a trained, unrolled one, nor the reverse,
  and two schedules that differ only in learning rate read differently."""
  assert config_lib.make_config(dataset, overrides).teacher == teacher


def test_a_preset_tunes_each_teacher_apart():
  """stacked_fashion_mnist teaches the kernel by default (chosen by the
  equal-time study) with its own lambda_G and no warm-up; --estimator vae
  gets the authors' lambda_G = 1 and GAN warm-up, not the kernel's, and no
  kernel schedule; what the command line gives still wins."""
  kernel = config_lib.make_config("stacked_fashion_mnist", {})
  assert (kernel.method, kernel.estimator) == ("lbt-gan", "kde")
  assert (kernel.adversarial_weight, kernel.teaching_warmup, kernel.scale_teaching) == (0.1, 0, True)
  assert (kernel.bandwidth, kernel.final_bandwidth, kernel.anneal_steps) == (7.0, 1.0, 1000)
  vae = config_lib.make_config("stacked_fashion_mnist", {"estimator": "vae"})
  assert (vae.adversarial_weight, vae.teaching_warmup, vae.scale_teaching) == (1.0, 500, False)
  assert (vae.bandwidth, vae.final_bandwidth, vae.anneal_steps) == (0.0, 0.0, 0)
  assert (vae.estimator_steps, vae.estimator_lr, vae.unroll_lr) == (15, 3e-4, 1e-4)  # shared
  mine = config_lib.make_config("stacked_fashion_mnist", {"estimator": "vae",
                                                          "adversarial_weight": 0.3})
  assert mine.adversarial_weight == 0.3
  # --help shows the default teacher's values
  assert config_lib.preset("stacked_fashion_mnist")["adversarial_weight"] == 0.1


def test_a_preset_naming_an_unknown_teacher_is_refused(tmp_path, monkeypatch):
  preset = json.loads((datasets.PRESETS_DIR / "ring.json").read_text())
  preset["teachers"] = {"vea": {"adversarial_weight": 1.0}}
  (tmp_path / "ring.json").write_text(json.dumps(preset))
  monkeypatch.setattr(datasets, "PRESETS_DIR", tmp_path)
  with pytest.raises(ValueError, match=r"preset ring: its \"teachers\" block names \['vea'\]"):
    config_lib.make_config("ring", {})
