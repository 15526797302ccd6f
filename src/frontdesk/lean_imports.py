"""Third-party imports that Frontdesk does not use, skipped at every start (``frontdesk.app``).

Imported first by :mod:`frontdesk.app`, before SQLAlchemy, httpx or any route. Each one stands
in for a module that a package imports eagerly for a part Frontdesk never uses, and turns into
the real one on first use, so behaviour does not change; each does nothing when that package
was imported already. CPU per start of ``frontdesk serve`` (gateway configuration):

* ``sqlalchemy.ext.asyncio``: its ``__init__`` imports its ``session`` and ``scoping`` modules
  and so all of ``sqlalchemy.orm`` (43 modules; ~0.05 s, ~0.02 s more on the first queries for
  the ORM's event hooks). Frontdesk uses the Core (``AsyncEngine``, ``AsyncConnection``);
  the first other name asked of the package (``AsyncSession``...) runs its ``__init__`` then.
* ``httpx._main``: ``httpx`` imports its command-line client (click, pygments, rich's
  progress, syntax and table; ~0.015 s) to offer ``httpx.main``; calling it imports it then.
* FastAPI 0.165 refuses ``pydantic.v1`` models with a clear error: it asks of every route's
  annotations (and of every object ``jsonable_encoder`` meets) whether it is one, importing
  ``pydantic.v1`` (23 modules, ~0.02 s) at the first route. Nothing can be a ``pydantic.v1``
  model while ``pydantic.v1`` was never imported: the checks answer False until then and ask
  FastAPI's own from then on, so such a model is refused as before.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

SQLALCHEMY_ASYNCIO = "sqlalchemy.ext.asyncio"
HTTPX_CLI = "httpx._main"
PYDANTIC_V1 = "pydantic.v1"

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
"""What ``sqlalchemy.ext.asyncio``'s ``__init__`` binds from these two modules (SQLAlchemy 2.x)."""


def sqlalchemy_asyncio_without_orm() -> ModuleType:
    """``sqlalchemy.ext.asyncio``, registered with its Core names only if not imported yet."""
    loaded = sys.modules.get(SQLALCHEMY_ASYNCIO)
    if loaded is not None:
        return loaded
    import sqlalchemy.ext

    spec = importlib.util.find_spec(SQLALCHEMY_ASYNCIO)
    if spec is None or spec.loader is None:  # pragma: no cover (SQLAlchemy without asyncio)
        return importlib.import_module(SQLALCHEMY_ASYNCIO)
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
            raise AttributeError(
                f"module {SQLALCHEMY_ASYNCIO!r} has no attribute {name!r}"
            ) from None

    sys.modules[SQLALCHEMY_ASYNCIO] = package
    try:
        for module_name, names in _CORE_NAMES.items():
            module = importlib.import_module(f"{SQLALCHEMY_ASYNCIO}.{module_name}")
            for name in names:
                setattr(package, name, getattr(module, name))
        from sqlalchemy.util import concurrency

        # as the real __init__ does: without greenlet, fail here, not on the first query
        concurrency._concurrency_shim._initialize()
    except BaseException:
        del sys.modules[SQLALCHEMY_ASYNCIO]
        raise
    vars(package)["__getattr__"] = __getattr__
    vars(sqlalchemy.ext)["asyncio"] = package  # as the import system binds a submodule
    return package


def httpx_without_cli() -> None:
    """``httpx.main`` without importing httpx's command-line client until it is called."""
    if "httpx" in sys.modules or HTTPX_CLI in sys.modules:
        return
    stand_in = ModuleType(HTTPX_CLI, "httpx's command-line client, imported when called")

    def main(*args: Any, **kwargs: Any) -> Any:
        if sys.modules.get(HTTPX_CLI) is stand_in:
            del sys.modules[HTTPX_CLI]
        return importlib.import_module(HTTPX_CLI).main(*args, **kwargs)

    vars(stand_in)["main"] = main
    sys.modules[HTTPX_CLI] = stand_in


def _once_v1_imported(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    def checked(value: Any) -> bool:
        return PYDANTIC_V1 in sys.modules and check(value)

    vars(checked)["__wrapped__"] = check
    return checked


def fastapi_without_pydantic_v1() -> bool:
    """FastAPI's two v1 checks, where it calls them; False if it has no such helpers."""
    from fastapi import _compat, encoders
    from fastapi._compat import shared

    class_check = getattr(shared, "is_pydantic_v1_model_class", None)
    instance_check = getattr(shared, "is_pydantic_v1_model_instance", None)
    if class_check is None or instance_check is None:
        return False  # another FastAPI: nothing replaced
    if hasattr(class_check, "__wrapped__"):
        return True  # replaced already
    # annotation_is_pydantic_v1 (route annotations) calls the class check by its module's name
    vars(shared)["is_pydantic_v1_model_class"] = _once_v1_imported(class_check)
    instance = _once_v1_imported(instance_check)
    vars(shared)["is_pydantic_v1_model_instance"] = instance
    for module in (_compat, encoders):  # these imported the instance check by name
        if vars(module).get("is_pydantic_v1_model_instance") is instance_check:
            vars(module)["is_pydantic_v1_model_instance"] = instance
    return True


httpx_without_cli()
sqlalchemy_asyncio_without_orm()
fastapi_without_pydantic_v1()
