"""The widget pages: rendered from one layout, served by ``digor serve``, deployed to the public zone.

Every page is ``widgets/templates/layout.html`` (head, Content-Security-Policy, header, "À propos"
footer) filled by its own template in ``widgets/templates/``; pages are rendered when served or
deployed, never stored in the checkout, so an edited layout shows on reload.

Browsers load a widget from the same origin as the data it reads (the pages' Content-Security-
Policy allows nothing else), so the pages, their scripts and the bundled libraries go to
``public/widgets/`` of the store; the Atom feeds already link there.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from core.config import PROJECT_ROOT
from core.keys import WIDGETS_PREFIX
from core.store import COMPRESSIBLE_SUFFIXES, ObjectStore, gzip_bytes, put_if_changed

WIDGETS_DIR = PROJECT_ROOT / "widgets"
TEMPLATES = "templates"
LAYOUT = "layout.html"
PREFIX = f"{WIDGETS_PREFIX}/"
# What browsers may load from widgets/ besides the pages (sources of the build, package files and
# node_modules stay out): the widgets' own files, the shared modules and the bundled libraries.
PAGE_SUFFIXES = {".js", ".css", ".svg", ".png", ".ico", ".txt"}
STATIC_FOLDERS = (".", "commun", "vendor")
VENDOR_FILES = ("vendor/minisearch.js", "vendor/echarts.min.js", "vendor/echarts-fr.js")  # see the Makefile
ESBUILD_FILE = "node_modules/.bin/esbuild"  # bundles each page's module (``bundle_module``)


class WidgetAssetsMissing(RuntimeError):
    """The bundled libraries are not built: ``make widgets``."""


def missing_assets(widgets_dir: Path = WIDGETS_DIR) -> list[str]:
    missing = [name for name in VENDOR_FILES if not (widgets_dir / name).is_file()]
    return missing if ESBUILD.is_file() else [*missing, ESBUILD_FILE]


def page_names(widgets_dir: Path = WIDGETS_DIR) -> list[str]:
    """``actes.html``…: one page per template beside the layout."""
    return sorted(p.name for p in (widgets_dir / TEMPLATES).glob("*.html") if p.name != LAYOUT)


# esbuild (npm, pinned in widgets/package.json, installed by ``make widgets``) bundles a page's module.
ESBUILD = WIDGETS_DIR / ESBUILD_FILE


class UnbundledModule(ValueError):
    """A widget module esbuild could not bundle (a syntax error, an import it cannot resolve)."""


def bundle_module(module: str, widgets_dir: Path = WIDGETS_DIR) -> bytes:
    """A page's module with the modules it imports inlined by esbuild (an ES module, code as written,
    not minified), so that the page's script is one request: over HTTP/1.1 (6 connections) a dozen
    modules cost a phone on 4G three round trips before the first render."""
    if not ESBUILD.is_file():
        raise WidgetAssetsMissing(f"{ESBUILD} is missing: run `make widgets`")
    done = subprocess.run(
        [str(ESBUILD), module, "--bundle", "--format=esm", "--charset=utf8", "--log-level=error", "--color=false"],
        cwd=widgets_dir, capture_output=True, check=False)
    if done.returncode != 0:
        message = " ".join(done.stderr.decode("utf-8", "replace").split())
        raise UnbundledModule(f"widgets/{module}: esbuild could not bundle it: {message}")
    return done.stdout


def page_modules(widgets_dir: Path = WIDGETS_DIR) -> list[str]:
    """``actes.js``…: the module of each page, which browsers get bundled."""
    return [name.removesuffix(".html") + ".js" for name in page_names(widgets_dir)]


def render_page(name: str, widgets_dir: Path = WIDGETS_DIR) -> bytes:
    environment = Environment(loader=FileSystemLoader(widgets_dir / TEMPLATES), autoescape=True,
                              undefined=StrictUndefined, keep_trailing_newline=True)
    page = name.removesuffix(".html")
    return environment.get_template(name).render(
        page=page, cadres_internes=False).encode()


def static_files(widgets_dir: Path = WIDGETS_DIR) -> dict[str, Path]:
    """Relative name -> file, for every file of the widgets that browsers load as it is."""
    files = [p for folder in STATIC_FOLDERS for p in (widgets_dir / folder).glob("*") if p.is_file()]
    return {p.relative_to(widgets_dir).as_posix(): p for p in sorted(files) if p.suffix in PAGE_SUFFIXES}


def widget_bytes(name: str, widgets_dir: Path = WIDGETS_DIR) -> bytes | None:
    """What browsers get for ``/widgets/<name>``; None when ``widgets/`` has no such page or file."""
    if name in page_names(widgets_dir):
        return render_page(name, widgets_dir)
    if name in page_modules(widgets_dir):
        return bundle_module(name, widgets_dir)
    path = static_files(widgets_dir).get(name)
    return path.read_bytes() if path else None


def deploy_widget_pages(store: ObjectStore, widgets_dir: Path = WIDGETS_DIR) -> list[str]:
    """Render the pages and copy them with the other widget files to the store's public zone;
    returns the keys that changed."""
    missing = missing_assets(widgets_dir)
    if missing:
        raise WidgetAssetsMissing(f"widget assets not built ({', '.join(missing)}): run `make widgets`")
    files = {name: path.read_bytes() for name, path in static_files(widgets_dir).items()}
    files |= {name: render_page(name, widgets_dir) for name in page_names(widgets_dir)}
    files |= {name: bundle_module(name, widgets_dir) for name in page_modules(widgets_dir)}
    # Stored compressed (served with Content-Encoding: gzip): ECharts alone is 1.1 MB as text.
    files = {name: gzip_bytes(data) if Path(name).suffix in COMPRESSIBLE_SUFFIXES else data for name, data in files.items()}
    return [PREFIX + name for name, data in sorted(files.items()) if put_if_changed(store, PREFIX + name, data)]
