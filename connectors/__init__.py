"""Getting records out of departmental systems: files, SQL databases, HTTP APIs.

Each source is read by a small registered connector, checked against its schema
contract (and signature, where required), landed with provenance in a restricted
zone, and mapped to the canonical schema.
"""

from connectors.base import Connector, ExtractContext, InputFile, RawChunk, SourceError
from connectors.connections import airflow_connection_url, connection_url
from connectors.export_manifest import (
    ExportManifest,
    ManifestCheck,
    check_export,
    manifest_path,
    sign_export,
)
from connectors.export_sequences import ExportSequenceStore
from connectors.landing import (
    CONNECTORS,
    Landing,
    connector_for,
    extract_to_landing,
    restricted_dir,
)
from connectors.mapping import check_contract, standardise, to_simplified
from connectors.partitions import SourcePart, plan_partitions
from connectors.signatures import SignatureVerdict, sign_file, verify_file
from connectors.specs import (
    FileSpec,
    HttpSpec,
    PartitionSettings,
    SignatureSpec,
    SourceConfig,
    SqlSpec,
)
from connectors.trust_store import (
    AirflowConnectionTrustStore,
    FileTrustStore,
    MappingTrustStore,
    TrustedKey,
    TrustStore,
    TrustStoreError,
)
from connectors.watermarks import Watermark, WatermarkStore, commit_watermarks

__all__ = [
    "CONNECTORS",
    "AirflowConnectionTrustStore",
    "Connector",
    "ExportManifest",
    "ExportSequenceStore",
    "ExtractContext",
    "FileSpec",
    "FileTrustStore",
    "HttpSpec",
    "InputFile",
    "Landing",
    "ManifestCheck",
    "MappingTrustStore",
    "PartitionSettings",
    "RawChunk",
    "SignatureSpec",
    "SignatureVerdict",
    "SourceConfig",
    "SourceError",
    "SourcePart",
    "SqlSpec",
    "TrustStore",
    "TrustStoreError",
    "TrustedKey",
    "Watermark",
    "WatermarkStore",
    "airflow_connection_url",
    "check_contract",
    "check_export",
    "commit_watermarks",
    "connection_url",
    "connector_for",
    "extract_to_landing",
    "manifest_path",
    "plan_partitions",
    "restricted_dir",
    "sign_export",
    "sign_file",
    "standardise",
    "to_simplified",
    "verify_file",
]
