from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from connectors import ExportSequenceStore, ExtractContext, SourceConfig, sign_export
from connectors.trust_store import MappingTrustStore, trust_entry


def _make_source(**overrides) -> SourceConfig:
    base = {
        "name": "demo_source",
        "department": "finance",
        "entity": "dues",
        "connector": "file",
        "file": {"path": "dues.csv", "format": "csv"},
        "columns": {
            "人员编号": "person_no",
            "姓名": "name",
            "缴费金额": "amount_cents",
            "缴费日期": "paid_on",
        },
    }
    base.update(overrides)
    return SourceConfig.model_validate(base)


@dataclass
class Signer:
    """The finance department as the tests' trust store knows it: its key may sign for
    ``demo_source``; ``sign`` writes a manifest as ``islandbridge sign`` does."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    sequence: int = 0

    def trusted(self, source: str = "demo_source", **binding) -> MappingTrustStore:
        entry = trust_entry(
            "finance", self.key.public_key(), department="finance", sources=[source], **binding
        )
        return MappingTrustStore([entry])

    def sign(self, path: Path, rows: int, *, source: str = "demo_source", **extra) -> Path:
        self.sequence += 1
        fields = {
            "department": "finance",
            "source": source,
            "rows": rows,
            "exported_at": datetime(2026, 6, 30, 10, self.sequence % 60, tzinfo=UTC),
            "sequence": self.sequence,
            **extra,
        }
        return sign_export(self.key, path, **fields)


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
def sources_dir(tmp_path: Path) -> Path:
    d = tmp_path / "sources"
    d.mkdir()
    return d


@pytest.fixture
def ctx(sources_dir: Path, signer: Signer, tmp_path: Path) -> ExtractContext:
    """The extraction context; ``signer``'s key is trusted for ``demo_source``."""
    state = tmp_path / "state"
    return ExtractContext(
        sources_dir=sources_dir,
        env={},
        trust_store=signer.trusted(),
        export_sequences=ExportSequenceStore(lambda source: state / f"{source}.json"),
    )


@pytest.fixture
def make_source():
    """Build a SourceConfig from a small default (a finance dues CSV) with overrides."""
    return _make_source
