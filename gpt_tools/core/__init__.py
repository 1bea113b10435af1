"""The pipeline: inputs, plans, runs, rewrites, guards, previews, batches and knowledge."""
