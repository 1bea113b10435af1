"""Everything gpt-tools keeps on disk: atomic writes, private files, logs, caches, conversations."""
