"""Everything gpt-tools keeps on disk: where (paths.py, the only module that knows), atomic writes,
private files, logs, caches, conversations."""
