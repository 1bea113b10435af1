"""Backends: the Protocol, the registry, and the built-ins (which register like any plugin)."""

from gpt_tools.wire.backends import chat, responses
from gpt_tools.wire.backends.base import BACKENDS, Backend, BackendRequest, Reply, Usage, get_backend, register

__all__ = [
    "BACKENDS",
    "Backend",
    "BackendRequest",
    "Reply",
    "Usage",
    "chat",
    "get_backend",
    "register",
    "responses",
]
