"""Old import paths served by today's modules, inside the worker.

Course notebooks outlive library layouts: a JAX notebook from 2021 says
``from jax.experimental import stax`` and ``from jax.api import jit``, which current JAX
moved to ``jax.example_libraries.stax`` and ``jax``. A pack lists such renames (``[pack]
import_aliases`` in ``pack.toml``) and the worker installs this finder before the student's
code runs, so the old spelling imports the new module instead of failing the whole file.

A target is ``"package.module"`` (the alias *is* that module) or ``"package.module:attr"``
(the alias is a small module that exposes ``attr`` under the alias's last name and forwards
every other attribute to it): ``from jax.config import config`` needs the latter, because
``jax.config`` is now an object, not a module. An alias ending in ``.*`` covers a whole
tree: ``"tensorflow.keras.*" = "keras.*"`` serves ``tensorflow.keras.layers`` as
``keras.layers``, and so on for every submodule.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Mapping, Sequence
from typing import Any


class ForwardingModule(types.ModuleType):
    """A module standing for an object: its attributes are the object's."""

    def __init__(self, name: str, target: Any) -> None:
        super().__init__(name)
        self.__dict__[name.rpartition(".")[2]] = target
        self.__dict__["_grader_target"] = target

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return getattr(self.__dict__["_grader_target"], attr)


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, alias: str, target: str) -> None:
        self.alias, self.target = alias, target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module_name, _, attr = self.target.partition(":")
        module = importlib.import_module(module_name)
        if not attr:
            return module
        return ForwardingModule(self.alias, getattr(module, attr))

    def exec_module(self, module: types.ModuleType) -> None:
        """Nothing to run: the target module was imported (and ran) in ``create_module``."""


class AliasFinder(importlib.abc.MetaPathFinder):
    """Finds only the aliased names; everything else is left to the normal finders."""

    def __init__(self, aliases: Mapping[str, str]) -> None:
        self.aliases = {k: v for k, v in aliases.items() if not k.endswith(".*")}
        self.trees = {k[:-2]: v[:-2] if v.endswith(".*") else v
                      for k, v in aliases.items() if k.endswith(".*")}

    def _target(self, fullname: str) -> str | None:
        if fullname in self.aliases:
            return self.aliases[fullname]
        for prefix, target in self.trees.items():
            if fullname == prefix or fullname.startswith(prefix + "."):
                return target + fullname[len(prefix):]
        return None

    def find_spec(self, fullname: str, path: Sequence[str] | None = None,
                  target: types.ModuleType | None = None) -> importlib.machinery.ModuleSpec | None:
        wanted = self._target(fullname)
        if wanted is None or _importable(fullname, self):
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(fullname, wanted))


def _importable(fullname: str, finder: AliasFinder) -> bool:
    """Whether the installed library still has the old name itself: then it wins."""
    for other in sys.meta_path:
        if other is finder or not hasattr(other, "find_spec"):
            continue
        parent = sys.modules.get(fullname.rpartition(".")[0])
        try:
            if other.find_spec(fullname, getattr(parent, "__path__", None)) is not None:
                return True
        except (ImportError, ValueError, AttributeError):
            continue
    return False


def install(aliases: Mapping[str, str]) -> AliasFinder | None:
    """Put a finder for ``aliases`` first on ``sys.meta_path`` (None when there are none)."""
    if not aliases:
        return None
    for alias, target in aliases.items():
        if not isinstance(alias, str) or not isinstance(target, str) or not target:
            raise ValueError(f"import alias {alias!r} -> {target!r}: both must be module names")
    finder = AliasFinder(aliases)
    sys.meta_path.insert(0, finder)
    return finder
