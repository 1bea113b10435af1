"""Built-in assistants: one Markdown file each, TOML front matter between `+++` lines."""
