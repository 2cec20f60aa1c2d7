"""Data Docs work offline: no page loads anything from the network, every local link
resolves, the suite page exists, and our custom expectations read as sentences."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from quality import validate_frame
from quality.offline_docs import OfflineAssetsMissing, make_offline
from tests.quality.conftest import AS_OF, canonical_frame, good_member

_ATTR = re.compile(r"""\b(?:src|href)=["']([^"']*)["']""", re.I)
_CSS_URL = re.compile(r"""url\(\s*["']?([^"')]+)["']?\s*\)""")
_NAMESPACES = ("http://www.w3.org/",)


def remote_urls(site: Path) -> list[str]:
    """Every http(s) URL a page or stylesheet of the site would load or link to: src/href
    attributes and url() in pages, url() in stylesheets (comments and XML namespaces aside)."""
    found = []
    for path in [*site.rglob("*.html"), *site.rglob("*.css")]:
        text = path.read_text(encoding="utf-8", errors="replace")
        targets = _CSS_URL.findall(text)
        if path.suffix == ".html":
            targets += _ATTR.findall(text)
        found += [
            f"{path.name}: {url}"
            for url in targets
            if re.match(r"\s*(https?:)?//", url) and not url.startswith(_NAMESPACES)
        ]
    return found


def broken_links(site: Path) -> list[str]:
    """Local src/href (and stylesheet url()) targets that do not exist."""
    broken = []
    for path in [*site.rglob("*.html"), *site.rglob("*.css")]:
        text = path.read_text(encoding="utf-8", errors="replace")
        pattern = _CSS_URL if path.suffix == ".css" else _ATTR
        for target in pattern.findall(text):
            target = target.split("#")[0].split("?")[0]
            if not target or re.match(r"(data|javascript|mailto):|(https?:)?//", target):
                continue
            if not (path.parent / unquote(target)).exists():
                broken.append(f"{path.relative_to(site)} → {target}")
    return broken


@pytest.fixture(scope="module")
def site(tmp_path_factory, config) -> Path:
    frame = canonical_frame("member", [good_member(), good_member(gender="F")])
    docs = tmp_path_factory.mktemp("docs")
    validate_frame(frame, entity="member", config=config, as_of=AS_OF, data_docs_dir=docs)
    return docs


def test_no_page_loads_anything_from_the_network(site):
    assert remote_urls(site) == []
    assert (site / "static" / "vendor" / "jquery" / "dist" / "jquery.min.js").is_file()


def test_vendored_assets_pass_the_leak_scan(site):
    """TrueType fonts hold digit runs the leak scan reads as mobiles: only WOFF2 is shipped."""
    from anonymize.leaks import RawIdentifiers, scan_leaks

    fonts = site / "static" / "vendor" / "@fortawesome" / "fontawesome-free" / "webfonts"
    assert list(fonts.glob("*.woff2")) and not list(fonts.glob("*.ttf"))
    report = scan_leaks([site / "static" / "vendor"], RawIdentifiers())
    assert report.ok, [str(f) for f in report.findings]


def test_every_local_link_resolves_including_the_suite_page(site):
    assert broken_links(site) == []
    index = (site / "index.html").read_text(encoding="utf-8")
    suite_links = [h for h in _ATTR.findall(index) if h.startswith("expectations/")]
    assert suite_links and all((site / h).is_file() for h in suite_links)


def test_custom_expectations_read_as_chinese_and_english_sentences(site):
    text = "".join(p.read_text(encoding="utf-8") for p in site.rglob("*.html"))
    assert "性别须与身份证号第17位一致" in text
    assert "the gender must agree with the ID number" in text
    assert "(**{" not in text and "(**{&#39;" not in text


def test_the_checks_find_a_cdn_link_and_a_missing_file(tmp_path):
    page = tmp_path / "index.html"
    page.write_text(
        '<link href="https://cdn.example/x.css"><script src="static/missing.js"></script>',
        encoding="utf-8",
    )
    assert remote_urls(tmp_path) and broken_links(tmp_path) == ["index.html → static/missing.js"]


def test_cdn_links_are_rewritten_to_vendor_copies(tmp_path):
    assets = tmp_path / "node_modules" / "jquery" / "dist"
    assets.mkdir(parents=True)
    (assets / "jquery.min.js").write_text("/* jquery */", encoding="utf-8")
    site = tmp_path / "site"
    (site / "validations").mkdir(parents=True)
    (site / "validations" / "p.html").write_text(
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js" integrity="sha384-x" '
        'crossorigin="anonymous"></script><a href="https://greatexpectations.io">GX</a>'
        '<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>',
        encoding="utf-8",
    )
    make_offline(site, tmp_path / "node_modules")
    text = (site / "validations" / "p.html").read_text(encoding="utf-8")
    assert '<script src="../static/vendor/jquery/dist/jquery.min.js"></script>' in text
    assert "vega" not in text and "integrity" not in text and "<a>GX</a>" in text
    assert remote_urls(site) == [] and broken_links(site) == []


def test_missing_assets_fail_with_what_to_do(tmp_path):
    (tmp_path / "index.html").write_text(
        '<script src="https://code.jquery.com/jquery-3.7.1.min.js"></script>', encoding="utf-8"
    )
    (tmp_path / "empty").mkdir()
    with pytest.raises(OfflineAssetsMissing, match="make env"):
        make_offline(tmp_path, tmp_path / "empty")


def _pages(site: Path) -> list[str]:
    """Every page of a site, its volatile parts (site name, times, ids) blanked."""
    site_name = re.compile(r"run_[0-9a-f]{12}")
    volatile = re.compile(r"[0-9a-f]{32}|[0-9]+")
    return [
        volatile.sub("0", site_name.sub("run_", p.read_text(encoding="utf-8")))
        for p in sorted(site.rglob("*.html"))
    ]


def test_a_second_build_reuses_the_compiled_templates_and_renders_the_same_pages(
    tmp_path, config, monkeypatch
):
    """GX compiles its templates for every page view; the shared bytecode cache means the
    second site compiles none, and its pages read as the first site's."""
    import jinja2

    frame = canonical_frame("member", [good_member(), good_member(id_number="12345")])
    first = tmp_path / "first"
    validate_frame(frame, entity="member", config=config, as_of=AS_OF, data_docs_dir=first)
    compiled = []
    compile_ = jinja2.Environment.compile

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        compiled.append(1)
        return compile_(self, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    second = tmp_path / "second"
    validate_frame(frame, entity="member", config=config, as_of=AS_OF, data_docs_dir=second)
    first_pages = _pages(first)
    assert len(first_pages) >= 2 and any("ge-failed-icon" in p for p in first_pages)
    assert _pages(second) == first_pages
    assert not compiled
