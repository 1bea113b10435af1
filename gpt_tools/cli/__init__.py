"""Front ends: the `gpt-tools` CLI and the `gpt-filter` Vim filter, thin adapters over the core."""
