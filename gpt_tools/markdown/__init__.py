"""Markdown: protecting code, URLs and front matter, chunking, and text conventions."""
