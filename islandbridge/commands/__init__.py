"""Sub-commands of the ``islandbridge`` CLI, one module each."""
