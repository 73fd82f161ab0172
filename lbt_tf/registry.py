"""Registries by name: a method, an estimator or a scorer is one file plus one
line in its registry.

A registry maps a name to "module:attribute" and imports the module only when
the name is used, so listing names (for --help, or to validate a config)
needs no TensorFlow.
"""

import importlib
from typing import Dict, Tuple


class Registry:
  """Names of one kind of thing ("method", "estimator") and where they live."""

  def __init__(self, kind: str, entries: Dict[str, str]):
    self.kind = kind
    self._entries = dict(entries)

  def names(self) -> Tuple[str, ...]:
    return tuple(self._entries)

  def __contains__(self, name) -> bool:
    return name in self._entries

  def check(self, name: str) -> str:
    """`name`, or a one-line ValueError listing the known names."""
    if name not in self._entries:
      raise ValueError(f"unknown {self.kind} {name!r}; choose from "
                       f"{', '.join(self._entries)}")
    return name

  def get(self, name: str):
    """The registered object (importing its module now)."""
    module, _, attribute = self._entries[self.check(name)].partition(":")
    return getattr(importlib.import_module(module), attribute)
