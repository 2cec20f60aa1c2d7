"""Data Docs that work without a network: GX's pages load Bootstrap, jQuery, Popper,
bootstrap-table, Font Awesome and a date picker from CDNs and its logo from S3.

:func:`make_offline` copies those scripts and styles into the site's ``static/vendor/``
(from the project's ``node_modules``, installed by ``npm ci`` from ``package-lock.json``;
GX's own images are already in ``static/images``), points every page at them, drops
what the pages never use (Vega, the dark theme) and the ``integrity`` pins of CDN builds,
and unlinks GX's links to its website, so nothing in a page reaches out.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from pathlib import Path

__all__ = ["OfflineAssetsMissing", "make_offline", "web_assets_dir"]

log = logging.getLogger(__name__)

#: CDN URL prefix → the file's folder in node_modules (the rest of the URL is kept)
_CDNJS = "https://cdnjs.cloudflare.com/ajax/libs/"
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/", "bootstrap/dist/"),
    ("https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/", "bootstrap/dist/"),
    ("https://code.jquery.com/jquery-3.7.1.min.js", "jquery/dist/jquery.min.js"),
    (_CDNJS + "popper.js/1.12.9/", "popper.js/dist/"),
    ("https://unpkg.com/bootstrap-table@1.19.1/dist/", "bootstrap-table/dist/"),
    ("https://unpkg.com/bootstrap-table@1.19.0/dist/", "bootstrap-table/dist/"),
    (_CDNJS + "font-awesome/6.6.0/", "@fortawesome/fontawesome-free/"),
    (_CDNJS + "bootstrap-datepicker/1.9.0/", "bootstrap-datepicker/dist/"),
)
#: assets the pages load but never use: their tags are removed
_DROPPED = re.compile(
    r"""<(script|link)\b[^>]*(?:src|href)=["']https://cdn\.jsdelivr\.net/npm/"""
    r"""(?:vega|vega-lite|vega-embed|@forevolve/bootstrap-dark)[@/][^"']*["'][^>]*>(?:\s*</script>)?""",
    re.I,
)
_LOGO = re.compile(r"https://great-expectations-web-assets\.s3[^\"'\s)]*")
_PINS = re.compile(r"""\s(?:integrity|crossorigin)=["'][^"']*["']""", re.I)
_ASSET = re.compile(r"""((?:src|href)=["'])(https://[^"']+)(["'])""", re.I)
#: GX writes some pages' links to the site's static folder one level short: re-rooted
_STATIC = re.compile(r"""((?:src|href)=["'])(?:\./|(?:\.\./)+)?static/""", re.I)
_ANCHOR_HREF = re.compile(r"""(<a\b[^>]*?)\shref=["']https?://[^"']*["']""", re.I)
#: Font Awesome's stylesheet loads its fonts from ../webfonts/: only the WOFF2 ones are
#: copied (every browser reads them; the uncompressed TrueType fallbacks hold digit runs
#: that a leak scan of the reports would flag) and their url() dropped from the stylesheet
_EXTRA_DIRS = ("@fortawesome/fontawesome-free/webfonts",)
_TTF_SOURCE = re.compile(r""",\s*url\([^)]*\.ttf\)\s*format\(["']truetype["']\)""")


class OfflineAssetsMissing(RuntimeError):
    """The scripts and styles are not installed (run ``make env``)."""


def web_assets_dir() -> Path:
    """The installed web assets: ``$ISLANDBRIDGE_WEB_ASSETS`` or the project's node_modules."""
    configured = os.environ.get("ISLANDBRIDGE_WEB_ASSETS")
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent / "node_modules"


def _local(url: str) -> str | None:
    for prefix, target in _PREFIXES:
        if url.startswith(prefix):
            rest = url[len(prefix) :].split("?")[0]
            return target + rest if target.endswith("/") else target
    return None


def _copy(assets: Path, vendor: Path, relative: str) -> None:
    source = assets / relative
    if not source.is_file():
        raise OfflineAssetsMissing(f"web asset missing: {source} (run make env)")
    target = vendor / relative
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.suffix == ".css":
            text = source.read_text(encoding="utf-8")
            target.write_text(_TTF_SOURCE.sub("", text), encoding="utf-8")
        else:
            shutil.copyfile(source, target)


def _rewrite(page: Path, site: Path, assets: Path) -> None:
    text = page.read_text(encoding="utf-8")
    up = "../" * (len(page.relative_to(site).parts) - 1)
    vendor = site / "static" / "vendor"
    text = _DROPPED.sub("", text)
    text = _LOGO.sub(f"{up}static/images/logo-long.png", text)
    text = _PINS.sub("", text)

    def local(match: re.Match) -> str:
        url = match.group(2)
        relative = _local(url)
        if relative is None:
            return match.group(0)
        _copy(assets, vendor, relative)
        return f"{match.group(1)}{up}static/vendor/{relative}{match.group(3)}"

    text = _STATIC.sub(lambda m: f"{m.group(1)}{up}static/", text)
    text = _ASSET.sub(local, text)
    text = _ANCHOR_HREF.sub(r"\1", text)
    page.write_text(text, encoding="utf-8")


def make_offline(site: Path, assets: Path | None = None) -> list[Path]:
    """Rewrite every page of the Data Docs site at ``site`` to load only local files;
    returns the pages rewritten. Raises :class:`OfflineAssetsMissing` when the web
    assets are not installed."""
    assets = assets or web_assets_dir()
    if not assets.is_dir():
        raise OfflineAssetsMissing(f"no web assets at {assets} (run make env)")
    pages = sorted(site.rglob("*.html"))
    for page in pages:
        _rewrite(page, site, assets)
    for sheet in sorted((site / "static" / "styles").glob("*.css")):
        text = sheet.read_text(encoding="utf-8")
        sheet.write_text(_LOGO.sub("../images/logo-long.png", text), encoding="utf-8")
    vendor = site / "static" / "vendor"
    for folder in _EXTRA_DIRS:
        if (vendor / folder).parent.is_dir() and not (vendor / folder).is_dir():
            shutil.copytree(
                assets / folder, vendor / folder, ignore=shutil.ignore_patterns("*.ttf")
            )
    log.info("data docs made offline: %d pages", len(pages))
    return pages
