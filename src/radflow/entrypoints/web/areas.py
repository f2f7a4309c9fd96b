"""The screens' areas: every package under `web/` whose `routes.py` has a `router`.

An area joins the screens by being there: its router is included at `/` (`web/routes.py`), its
`templates/` folder is found as `<area>/…` (`rendering.py`), and the menu entries it declares as
`MENU` (a tuple of `navigation.NavItem`) follow the foundation's own in the menu, shown to the roles
the policy lets use them. Areas are found once per process (they are code, not data).
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Final

from radflow.entrypoints.web.navigation import NavItem

WEB_DIR: Final = Path(__file__).parent
PACKAGE: Final = __name__.rsplit(".", 1)[0]

#: The foundation's areas, in menu order; any other area follows, by name.
FOUNDATION_AREAS: Final = ("intake", "protocoling", "authorization", "board", "orders", "patients")


def area_names() -> list[str]:
    """Packages under web/ that have a routes module: the foundation's first, then the others by name."""
    found = {info.name for info in pkgutil.iter_modules([str(WEB_DIR)])
             if info.ispkg and (WEB_DIR / info.name / "routes.py").is_file()}
    return [name for name in FOUNDATION_AREAS if name in found] + sorted(found - set(FOUNDATION_AREAS))


@cache
def area_routes() -> tuple[ModuleType, ...]:
    """Each area's routes module (an area that fails to import fails the app: better than a missing screen)."""
    modules = (importlib.import_module(f"{PACKAGE}.{name}.routes") for name in area_names())
    return tuple(module for module in modules if hasattr(module, "router"))


@cache
def area_menu() -> tuple[NavItem, ...]:
    """Menu entries the areas beyond the foundation declare (`MENU` in their routes module)."""
    items: list[NavItem] = []
    for module in area_routes():
        if module.__name__.split(".")[-2] in FOUNDATION_AREAS:
            continue
        declared = getattr(module, "MENU", ())
        for item in declared:
            if not isinstance(item, NavItem):
                raise TypeError(f"{module.__name__}.MENU holds {item!r}, not a NavItem")
            items.append(item)
    return tuple(items)
