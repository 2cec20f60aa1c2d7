"""GX Data Docs of one validation, built into a run's directory.

The results rendered carry counts and percentages only: unexpected values were never
collected (``exclude_unexpected_values``) and row positions are dropped here, so the
pages hold no personal data.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from pathlib import Path
from typing import Any

from quality.gx_context import gx_context

__all__ = ["build_data_docs", "share_compiled_templates"]

logger = logging.getLogger(__name__)


class _CompiledTemplates:
    """An in-memory Jinja bytecode cache shared by GX's Data Docs views.

    GX makes a new Jinja environment (so a new, empty template cache) for every page
    view it renders and compiles each of its ~50 templates again, every validation:
    most of the time a Data Docs build takes. Jinja keys the cached code by template
    name and checks the template source's checksum, so a changed template is compiled anew.
    """

    def __init__(self) -> None:
        from jinja2 import BytecodeCache

        class _Cache(BytecodeCache):
            def __init__(self) -> None:
                self.store: dict[str, bytes] = {}

            def load_bytecode(self, bucket: Any) -> None:
                if bucket.key in self.store:
                    bucket.bytecode_from_string(self.store[bucket.key])

            def dump_bytecode(self, bucket: Any) -> None:
                self.store[bucket.key] = bucket.bytecode_to_string()

        self.cache = _Cache()


_compiled: _CompiledTemplates | None = None


def share_compiled_templates() -> None:
    """Give every GX Data Docs view one shared bytecode cache (idempotent)."""
    global _compiled
    if _compiled is not None:
        return
    from great_expectations.render.view.view import DefaultJinjaView

    compiled = _CompiledTemplates()
    init = DefaultJinjaView.__init__

    def init_with_cache(self: Any, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.env.bytecode_cache = compiled.cache

    DefaultJinjaView.__init__ = init_with_cache  # type: ignore[method-assign]
    _compiled = compiled


def _site_name(directory: Path) -> str:
    return "run_" + hashlib.sha256(str(directory).encode()).hexdigest()[:12]


def _ensure_site(directory: Path) -> str:
    context = gx_context()
    name = _site_name(directory)
    if name not in (context.list_data_docs_sites() or {}):
        context.add_data_docs_site(
            name,
            {
                "class_name": "SiteBuilder",
                "store_backend": {
                    "class_name": "TupleFilesystemStoreBackend",
                    "base_directory": str(directory),
                },
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )
    return name


def _without_row_positions(result: Any) -> Any:
    trimmed = copy.deepcopy(result)
    for item in trimmed.results:
        item.result.pop("unexpected_index_list", None)
        item.result.pop("partial_unexpected_index_list", None)
    return trimmed


def _suite_of(result: Any) -> Any:
    """The expectation suite a result was validated against, rebuilt from its results
    (so the site's suite page exists; the index links to it)."""
    from great_expectations.core import ExpectationSuite

    return ExpectationSuite(
        name=result.suite_name,
        expectations=[item.expectation_config.to_domain_obj() for item in result.results],
    )


def build_data_docs(result: Any, directory: Path) -> Path:
    """Render ``result`` (an ``ExpectationSuiteValidationResult``) and its suite into
    ``directory``, made to work offline (:func:`quality.offline_docs.make_offline`).

    Returns the path of the site's ``index.html``. The in-memory store entries are
    removed afterwards, so a long-running process does not accumulate them.
    """
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    from quality.offline_docs import make_offline

    directory.mkdir(parents=True, exist_ok=True)
    share_compiled_templates()
    context = gx_context()
    site = _ensure_site(directory)
    trimmed = _without_row_positions(result)
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=trimmed.suite_name),
        run_id=trimmed.meta.get("run_id"),
        batch_identifier=trimmed.meta.get("active_batch_definition", {}).get("batch_identifier")
        or "batch",
    )
    suite_key = ExpectationSuiteIdentifier(name=trimmed.suite_name)
    store = context.validation_results_store
    store.set(key, trimmed)
    context.expectations_store.set(suite_key, _suite_of(trimmed))
    try:
        context.build_data_docs(site_names=[site], resource_identifiers=[key, suite_key])
    finally:
        store.remove_key(key)
        context.expectations_store.remove_key(suite_key)
    make_offline(directory)
    index = directory / "index.html"
    logger.info("data docs built: %s", index)
    return index
