"""metrics.csv: rows a resumed run redoes are dropped from the file."""

from lbt_tf import metrics_csv


def test_rows_up_to_a_resumed_step_are_kept_and_later_ones_dropped(tmp_path):
  path = tmp_path / "metrics.csv"
  assert metrics_csv.read_rows(path) == []
  for step in (100, 200, 300):
    metrics_csv.append_row(path, {"step": step, "loss": step / 1000})

  kept = metrics_csv.rows_up_to(path, 200)

  assert kept == [{"step": 100, "loss": 0.1}, {"step": 200, "loss": 0.2}]
  assert isinstance(kept[0]["step"], int)
  assert metrics_csv.read_rows(path) == kept  # the file was rewritten
  metrics_csv.append_row(path, {"step": 300, "loss": 0.5})
  assert [row["loss"] for row in metrics_csv.read_rows(path)] == [0.1, 0.2, 0.5]
  assert path.read_text().count("step") == 1  # one header


def test_rows_up_to_with_no_file_is_empty_and_creates_nothing(tmp_path):
  path = tmp_path / "metrics.csv"
  assert metrics_csv.rows_up_to(path, 500) == []
  assert not path.exists()
