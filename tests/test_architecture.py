"""Dependencies point one way: delivery (api/, storefront/) -> web/ -> domain, never back.

Read from the source's import statements (no module is imported to check it), so a violation
fails here even when it sits in a module no other test loads.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from farmgate import callbacks

PACKAGE = Path(__file__).resolve().parent.parent / "farmgate"
DELIVERY = ("farmgate.api", "farmgate.storefront")
# May import the delivery layers and web/: the application gathers them, asgi serves it.
ASSEMBLY = ("farmgate.app", "farmgate.asgi")


def imports_of(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Every module ``source`` imports, dotted (``from a import b`` counts ``a`` and ``a.b``)."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                parts = package.split(".")
                anchor = parts[: len(parts) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def package_imports() -> dict[str, set[str]]:
    """Each module under farmgate/ with what it imports."""
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        is_package = parts[-1] == "__init__"
        name = ".".join(parts[:-1] if is_package else parts)
        modules[name] = imports_of(path.read_text(encoding="utf-8"), name, is_package=is_package)
    return modules


def _within(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def violations(modules: dict[str, set[str]]) -> list[str]:
    """Each import that points the wrong way, as ``importer -> imported (why)``."""
    found = []
    for module, imported in sorted(modules.items()):
        own = next((d for d in DELIVERY if _within(module, d)), None)
        for name in sorted(imported):
            if own is not None:
                if any(_within(name, d) for d in DELIVERY if d != own):
                    found.append(f"{module} -> {name} (one delivery layer imports the other)")
            elif module in ASSEMBLY:
                continue
            elif any(_within(name, d) for d in DELIVERY):
                found.append(f"{module} -> {name} (only the app may import a delivery layer)")
            elif _within(name, "farmgate.web") and not _within(module, "farmgate.web"):
                found.append(f"{module} -> {name} (domain code imports web/)")
    return found


def test_dependencies_point_one_way() -> None:
    modules = package_imports()
    for package in (*DELIVERY, "farmgate.web"):
        assert package in modules, f"{package} moved: update this test"
    assert violations(modules) == []


def test_every_spelling_of_an_import_is_seen() -> None:
    source = (
        "import farmgate.api.orders\n"
        "from farmgate.storefront import shop\n"
        "from farmgate import web\n"
        "from ..web.session import SessionDep\n"
        "def later():\n"
        "    from farmgate.api import deps\n"
    )
    found = imports_of(source, "farmgate.orders.probe")
    assert {
        "farmgate.api.orders",
        "farmgate.storefront.shop",
        "farmgate.web",
        "farmgate.web.session",
        "farmgate.api.deps",
    } <= found


def test_wrong_directions_are_reported_and_right_ones_are_not() -> None:
    wrong = {
        "farmgate.storefront.shop": {"farmgate.api.orders"},
        "farmgate.api.search": {"farmgate.storefront.common"},
        "farmgate.payments.service": {"farmgate.api"},
        "farmgate.orders.cart": {"farmgate.web.cookies"},
        "farmgate.webhooks": {"farmgate.web"},  # a sibling named web-something is not web/
    }
    assert [v.split(" ->")[0] for v in violations(wrong)] == sorted(wrong)
    right = {
        "farmgate.app": {"farmgate.api.router", "farmgate.storefront.errors", "farmgate.web"},
        "farmgate.api.orders": {"farmgate.web.cookies", "farmgate.orders.cart"},
        "farmgate.storefront.shop": {"farmgate.web.requests", "farmgate.storefront.common"},
        "farmgate.web.auth": {"farmgate.web.session", "farmgate.accounts.service"},
        "farmgate.search.presenters": {"farmgate.webpage", "farmgate.catalog.views"},
    }
    assert violations(right) == []


@pytest.mark.parametrize("route", [callbacks.WECHAT_PAY_NOTIFY, callbacks.KUAIDI100_PUSH])
def test_callback_addresses_given_out_are_routes_that_answer(client, route: str) -> None:  # type: ignore[no-untyped-def]
    path = callbacks.API_PREFIX + route
    assert callbacks.public_url(route).endswith(path)
    # An unsigned, empty notification is refused by the handler, not missed by the router.
    assert client.post(path, content=b"").status_code not in (404, 405)
    assert client.post(path + "-moved", content=b"").status_code == 404
