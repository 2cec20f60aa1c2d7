"""Getting records out of departmental systems: files, SQL databases, HTTP APIs.

Each source is read by a small registered connector, checked against its schema
contract (and signature, where required), landed with provenance in a restricted
zone, and mapped to the canonical schema.
"""

from connectors.base import Connector, ExtractContext, InputFile, RawChunk, SourceError
from connectors.connections import airflow_connection_url, connection_url
from connectors.landing import (
    CONNECTORS,
    Landing,
    connector_for,
    extract_to_landing,
    restricted_dir,
)
from connectors.mapping import check_contract, standardise, to_simplified
from connectors.signatures import SignatureVerdict, sign_file, verify_file
from connectors.specs import FileSpec, HttpSpec, SignatureSpec, SourceConfig, SqlSpec
from connectors.watermarks import Watermark, WatermarkStore, commit_watermarks

__all__ = [
    "CONNECTORS",
    "Connector",
    "ExtractContext",
    "FileSpec",
    "HttpSpec",
    "InputFile",
    "Landing",
    "RawChunk",
    "SignatureSpec",
    "SignatureVerdict",
    "SourceConfig",
    "SourceError",
    "SqlSpec",
    "Watermark",
    "WatermarkStore",
    "airflow_connection_url",
    "check_contract",
    "commit_watermarks",
    "connection_url",
    "connector_for",
    "extract_to_landing",
    "restricted_dir",
    "sign_file",
    "standardise",
    "to_simplified",
    "verify_file",
]
