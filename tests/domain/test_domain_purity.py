"""The domain package stays pure: no I/O imports and no reading of the wall clock.

The modules are inspected as source (``pkgutil`` to list them, ``ast`` to read them); none of
them is imported here, so an import with side effects cannot hide or cause a failure.
"""

from __future__ import annotations

import ast
import importlib.util
import pkgutil
from dataclasses import dataclass
from pathlib import Path

import pytest

DOMAIN_PACKAGE = "parley.domain"

#: Top-level modules that do I/O, concurrency or talk to a framework.
FORBIDDEN_TOP_LEVEL = frozenset(
    {
        "asyncio",
        "sqlalchemy",
        "redis",
        "fastapi",
        "starlette",
        "aiosqlite",
        "psycopg",
        "httpx",
        "websockets",
        "uvicorn",
        "socket",
        "threading",
        "time",
        "subprocess",
        "alembic",
    }
)

#: Parley packages outside the core. ``parley.clock`` reads the wall clock (and imports asyncio):
#: the domain is handed ``now`` instead.
FORBIDDEN_PARLEY = frozenset(
    {"parley.storage", "parley.services", "parley.web", "parley.realtime", "parley.clock"}
)

CLOCK_READS = frozenset({"now", "utcnow", "today"})


@dataclass(frozen=True)
class DomainModule:
    name: str
    path: Path
    is_package: bool


def _domain_dir() -> Path:
    # find_spec of a submodule imports the parent (``parley``, an empty package), not the
    # domain package itself.
    spec = importlib.util.find_spec(DOMAIN_PACKAGE)
    assert spec is not None, f"{DOMAIN_PACKAGE} is not importable"
    assert spec.submodule_search_locations is not None, f"{DOMAIN_PACKAGE} is not a package"
    locations = list(spec.submodule_search_locations)
    assert len(locations) == 1, locations
    return Path(locations[0])


def _walk(directory: Path, package: str) -> list[DomainModule]:
    modules = [DomainModule(package, directory / "__init__.py", is_package=True)]
    for info in pkgutil.iter_modules([str(directory)]):
        name = f"{package}.{info.name}"
        if info.ispkg:
            modules.extend(_walk(directory / info.name, name))
        else:
            modules.append(DomainModule(name, directory / f"{info.name}.py", is_package=False))
    return modules


def domain_modules() -> list[DomainModule]:
    return _walk(_domain_dir(), DOMAIN_PACKAGE)


def _resolve(module: str | None, level: int, current: str, is_package: bool) -> str:
    """The absolute name of ``from <level dots><module> import ...`` inside ``current``."""
    if level == 0:
        return module or ""
    parts = current.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def _is_forbidden(name: str) -> bool:
    if name.split(".")[0] in FORBIDDEN_TOP_LEVEL:
        return True
    return any(name == p or name.startswith(p + ".") for p in FORBIDDEN_PARLEY)


def imported_names(tree: ast.AST, current: str, is_package: bool) -> list[str]:
    """Every module name the source imports, including ``from x import y`` as ``x.y``."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, node.level, current, is_package)
            names.append(base)
            # ``from parley import storage`` imports parley.storage.
            names.extend(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        elif isinstance(node, ast.Call):
            func = node.func
            dynamic = (isinstance(func, ast.Name) and func.id == "__import__") or (
                isinstance(func, ast.Attribute) and func.attr == "import_module"
            )
            if dynamic and node.args and isinstance(node.args[0], ast.Constant):
                value = node.args[0].value
                if isinstance(value, str):
                    names.append(value)
    return names


def forbidden_imports(source: str, current: str, is_package: bool = False) -> list[str]:
    tree = ast.parse(source)
    return sorted({n for n in imported_names(tree, current, is_package) if _is_forbidden(n)})


def clock_reads(source: str) -> list[str]:
    """Calls such as ``datetime.now(UTC)``, ``dt.datetime.utcnow()`` or an alias of either."""
    tree = ast.parse(source)
    # Names bound to the datetime module or to its datetime/date classes.
    module_aliases: set[str] = set()
    class_aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "datetime":
                    module_aliases.add(alias.asname or "datetime")
        elif isinstance(node, ast.ImportFrom) and node.module == "datetime" and node.level == 0:
            for alias in node.names:
                if alias.name in {"datetime", "date"}:
                    class_aliases.add(alias.asname or alias.name)

    def is_datetime(expr: ast.expr) -> bool:
        if isinstance(expr, ast.Name):
            # "datetime" itself counts even without a visible import.
            return expr.id in class_aliases or expr.id in module_aliases or expr.id == "datetime"
        if isinstance(expr, ast.Attribute) and expr.attr in {"datetime", "date"}:
            return isinstance(expr.value, ast.Name) and expr.value.id in module_aliases
        return False

    found: list[str] = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CLOCK_READS
            and is_datetime(node.func.value)
        ):
            found.append(f"line {node.lineno}: {ast.unparse(node.func)}()")
    return found


# The checks themselves ------------------------------------------------------------------------


def test_walk_finds_every_domain_module() -> None:
    names = {m.name for m in domain_modules()}
    expected = {
        "parley.domain",
        "parley.domain.access",
        "parley.domain.conversation",
        "parley.domain.errors",
        "parley.domain.presence",
        "parley.domain.routing",
    }
    assert expected <= names
    for module in domain_modules():
        assert module.path.is_file(), module


@pytest.mark.parametrize("module", domain_modules(), ids=lambda m: m.name)
def test_domain_module_imports_nothing_that_does_io(module: DomainModule) -> None:
    source = module.path.read_text(encoding="utf-8")
    assert forbidden_imports(source, module.name, module.is_package) == []


@pytest.mark.parametrize("module", domain_modules(), ids=lambda m: m.name)
def test_domain_module_never_reads_the_clock(module: DomainModule) -> None:
    source = module.path.read_text(encoding="utf-8")
    assert clock_reads(source) == []


# The checker catches what it should (so that the checks above are not vacuous) ---------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import asyncio", ["asyncio"]),
        ("import time as t", ["time"]),
        ("from sqlalchemy.orm import Session", ["sqlalchemy.orm", "sqlalchemy.orm.Session"]),
        ("import redis.asyncio", ["redis.asyncio"]),
        ("from threading import Lock", ["threading", "threading.Lock"]),
        ("from parley.storage import store", ["parley.storage", "parley.storage.store"]),
        ("from parley import web", ["parley.web"]),
        ("from ..services import chats", ["parley.services", "parley.services.chats"]),
        ("from .. import realtime", ["parley.realtime"]),
        ("import parley.clock", ["parley.clock"]),
        ("m = __import__('subprocess')", ["subprocess"]),
        ("import importlib\nm = importlib.import_module('socket')", ["socket"]),
        ("def f() -> None:\n    import httpx\n", ["httpx"]),
    ],
)
def test_checker_flags_forbidden_imports(source: str, expected: list[str]) -> None:
    assert forbidden_imports(source, "parley.domain.example") == expected


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import datetime, timedelta",
        "from dataclasses import dataclass, replace",
        "from parley.domain.errors import Conflict",
        "from .errors import Conflict",
        "from . import errors",
        "import timeit_is_not_time",
        "from parley.storagefoo import x",
    ],
)
def test_checker_allows_pure_imports(source: str) -> None:
    assert forbidden_imports(source, "parley.domain.example") == []


@pytest.mark.parametrize(
    "source",
    [
        "from datetime import datetime\nx = datetime.now()",
        "from datetime import UTC, datetime\nx = datetime.now(UTC)",
        "from datetime import datetime\nx = datetime.utcnow()",
        "from datetime import datetime as dt\nx = dt.now()",
        "import datetime\nx = datetime.datetime.now()",
        "import datetime as d\nx = d.datetime.utcnow()",
        "from datetime import date\nx = date.today()",
    ],
)
def test_checker_flags_clock_reads(source: str) -> None:
    assert len(clock_reads(source)) == 1


@pytest.mark.parametrize(
    "source",
    [
        "def f(now):\n    return now + 1",
        "def f(clock):\n    return clock.now()",
        "from datetime import datetime\nx = datetime(2026, 1, 1)",
        "from datetime import datetime\nx = datetime.fromisoformat('2026-01-01')",
    ],
)
def test_checker_allows_time_passed_in(source: str) -> None:
    assert clock_reads(source) == []
