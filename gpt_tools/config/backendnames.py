"""Whether a backend name is one gpt-tools can use, and the close match when it is not.

Checked where the name is given (a config key, $GPT_TOOLS_BACKEND, --backend), so `backend = "chaat"`
is an error naming the file and the key with a did-you-mean, not an error in the middle of a run.
"""

from __future__ import annotations

from gpt_tools.config.definitions import close_match

BUILT_IN = ("openai", "chat")  # registered when their modules are imported; known by name before that


def known_backends() -> list[str]:
    """Built-in, registered and installed (entry point) backend names; nothing is imported to know them."""
    from importlib.metadata import entry_points  # start-up: only an unusual name pays for the scan

    from gpt_tools.wire.backends.base import BACKENDS, ENTRY_POINT_GROUP  # as above: the wire loads http.client

    return sorted({*BUILT_IN, *BACKENDS, *(entry.name for entry in entry_points(group=ENTRY_POINT_GROUP))})


def backend_problem(name: str) -> str | None:
    """Why name is not a usable backend ("unknown backend 'chaat'; did you mean 'chat'? ..."), or None."""
    if name in BUILT_IN:  # every config names one of these: nothing is imported for them
        return None
    known = known_backends()
    if name in known:
        return None
    close = close_match(name, known, cutoff=0.7)  # "nope" is not a typo of "openai"; "OpenAI" is
    listed = ", ".join(known)
    if close:
        return f"unknown backend {name!r}; did you mean {close!r}? Known backends: {listed}"
    return f"unknown backend {name!r}; known backends: {listed}"
