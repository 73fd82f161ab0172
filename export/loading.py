"""Find and describe exported generators (TF Serving's `BASE/<version>/`).

Pure file-system code: the samplers and the client use it without loading
the training code.
"""

import json
import pathlib

METADATA_FILE = "lbt_tf_metadata.json"


def versions(base) -> list:
  """The integer versions under `base`, ascending."""
  return sorted(int(p.name) for p in pathlib.Path(base).glob("*")
                if p.name.isdigit() and p.is_dir())


def resolve_model_dir(model, version=None) -> pathlib.Path:
  """`model` is a SavedModel folder or a base of versions (newest by default)."""
  model = pathlib.Path(model)
  if version is None and (model / "saved_model.pb").exists():
    return model
  if not model.is_dir():
    raise FileNotFoundError(f"no SavedModel at {model}: no such directory")
  available = versions(model)
  if version is not None:
    if int(version) not in available:
      raise FileNotFoundError(
          f"{model} has no version {version}; versions there: "
          f"{', '.join(map(str, available)) or 'none'}")
    return model / str(version)
  if not available:
    raise FileNotFoundError(
        f"no SavedModel in {model}: expected saved_model.pb or numbered "
        "version folders (BASE/1/saved_model.pb)")
  return model / str(available[-1])


def metadata(model_dir) -> dict:
  """What lbt_tf recorded about an exported generator ({} if not ours)."""
  path = pathlib.Path(model_dir) / "assets" / METADATA_FILE
  if not path.exists():
    return {}
  try:
    return json.loads(path.read_text())
  except json.JSONDecodeError as e:
    raise ValueError(f"{path} is corrupted ({e})") from None
