"""Configuration: the schema, loading and layering, trust, and editing config files."""
