"""Lazy public names of a subpackage (PEP 562), so that importing it loads none of its modules.

A subpackage lists which module provides each public name (``providers``: relative module ->
names) and takes its module-level ``__getattr__`` and ``__dir__`` from :func:`lazy_names`; a
name's module is imported the first time the name is used, and ``package.<submodule>`` resolves
as it did when the package imported its modules eagerly.
"""

from __future__ import annotations

import importlib
import importlib.util

__all__ = ["lazy_names"]


def lazy_names(package: str, namespace: dict, providers: dict[str, tuple[str, ...]], public: list[str]):
    """(``__getattr__``, ``__dir__``) for the package ``package`` whose globals are ``namespace``."""

    def __getattr__(name: str):
        """Import the module of public name ``name`` on first use and keep the name."""
        for module, names in providers.items():
            if name in names:
                value = getattr(importlib.import_module(module, package), name)
                namespace[name] = value
                return value
        if not name.startswith("_") and importlib.util.find_spec(f"{package}.{name}") is not None:
            return importlib.import_module(f"{package}.{name}")  # a submodule, as the eager package had them
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(public))

    return __getattr__, __dir__
