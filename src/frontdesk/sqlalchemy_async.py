"""``sqlalchemy.ext.asyncio`` without the ORM, imported for its side effect (``frontdesk.app``).

The package's ``__init__`` imports its ``session`` and ``scoping`` modules, which import all of
``sqlalchemy.orm``: ~43 modules, ~0.05 s of CPU at every start and ~0.02 s more on the first
queries (the ORM's event hooks). Frontdesk uses the Core only (``AsyncEngine``,
``AsyncConnection``). Importing this module registers the package with the names of its
``engine`` and ``result`` modules bound; the first other name asked of it (``AsyncSession``,
``async_sessionmaker``, ...) runs the package's own ``__init__`` then, so every import of
``sqlalchemy.ext.asyncio`` still finds what it expects. Nothing changes when the package was
imported already.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

PACKAGE = "sqlalchemy.ext.asyncio"

_CORE_NAMES = {
    "engine": (
        "async_engine_from_config",
        "AsyncConnection",
        "AsyncEngine",
        "AsyncTransaction",
        "create_async_engine",
        "create_async_pool_from_url",
    ),
    "result": ("AsyncMappingResult", "AsyncResult", "AsyncScalarResult", "AsyncTupleResult"),
}
"""What the package's ``__init__`` binds from these two modules (SQLAlchemy 2.x)."""


def without_orm() -> ModuleType:
    """``sqlalchemy.ext.asyncio``, registered with its Core names only if not imported yet."""
    loaded = sys.modules.get(PACKAGE)
    if loaded is not None:
        return loaded
    import sqlalchemy.ext

    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.loader is None:  # pragma: no cover (SQLAlchemy without asyncio)
        return importlib.import_module(PACKAGE)
    loader = spec.loader
    package = importlib.util.module_from_spec(spec)  # __path__ set: its submodules import

    def __getattr__(name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        # a name of the ORM part: run the real __init__ now (it rebinds the Core names to the
        # same objects), once; from then on the module is the package as SQLAlchemy made it
        vars(package).pop("__getattr__", None)
        loader.exec_module(package)
        try:
            return package.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {PACKAGE!r} has no attribute {name!r}") from None

    sys.modules[PACKAGE] = package
    try:
        for module_name, names in _CORE_NAMES.items():
            module = importlib.import_module(f"{PACKAGE}.{module_name}")
            for name in names:
                setattr(package, name, getattr(module, name))
        from sqlalchemy.util import concurrency

        # as the real __init__ does: without greenlet, fail here, not on the first query
        concurrency._concurrency_shim._initialize()
    except BaseException:
        del sys.modules[PACKAGE]
        raise
    vars(package)["__getattr__"] = __getattr__
    vars(sqlalchemy.ext)["asyncio"] = package  # as the import system binds a submodule
    return package


without_orm()
