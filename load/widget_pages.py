"""The widget pages in the public zone, where production serves them.

Browsers load a widget from the same origin as the data it reads (the pages' Content-Security-
Policy allows nothing else), so the pages, their scripts and the bundled libraries go to
``public/widgets/`` of the store; the Atom feeds already link there. ``digor serve`` serves
them from the checkout instead, so that an edited page shows on reload.
"""

from __future__ import annotations

from pathlib import Path

from core.config import PROJECT_ROOT
from core.keys import WIDGETS_PREFIX
from core.store import ObjectStore, put_if_changed

WIDGETS_DIR = PROJECT_ROOT / "widgets"
PREFIX = f"{WIDGETS_PREFIX}/"
# What browsers may load from widgets/ (sources of the build, package files and node_modules stay out).
PAGE_SUFFIXES = {".html", ".js", ".css", ".svg", ".png", ".ico", ".txt"}
VENDOR_FILES = ("vendor/minisearch.js", "vendor/echarts.min.js", "vendor/echarts-fr.js")  # see the Makefile


class WidgetAssetsMissing(RuntimeError):
    """The bundled libraries are not built: ``make widgets``."""


def missing_assets(widgets_dir: Path = WIDGETS_DIR) -> list[str]:
    return [name for name in VENDOR_FILES if not (widgets_dir / name).is_file()]


def page_files(widgets_dir: Path = WIDGETS_DIR) -> dict[str, Path]:
    """Relative name -> file, for every file of the widgets that browsers load."""
    files = [p for p in widgets_dir.glob("*") if p.is_file()] + [p for p in (widgets_dir / "vendor").glob("*") if p.is_file()]
    return {p.relative_to(widgets_dir).as_posix(): p for p in sorted(files) if p.suffix in PAGE_SUFFIXES}


def deploy_widget_pages(store: ObjectStore, widgets_dir: Path = WIDGETS_DIR) -> list[str]:
    """Copy the widget files to the store's public zone; returns the keys that changed."""
    missing = missing_assets(widgets_dir)
    if missing:
        raise WidgetAssetsMissing(f"widget assets not built ({', '.join(missing)}): run `make widgets`")
    return [PREFIX + name for name, path in page_files(widgets_dir).items()
            if put_if_changed(store, PREFIX + name, path.read_bytes())]
