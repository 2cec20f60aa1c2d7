"""The department portal: a web page where each department hands in its signed export
and sees its own rejected rows (``islandbridge portal``). Application layer: it uses the
connectors' manifest, trust-store and file-name checks, the run contract and the
intake; nothing below imports it."""

from islandbridge.portal.app import create_app
from islandbridge.portal.settings import PortalSettings

__all__ = ["PortalSettings", "create_app"]
