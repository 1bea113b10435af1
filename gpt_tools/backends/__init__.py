"""Backends: the Protocol, the registry, and the built-ins (which register like any plugin)."""

from . import chat, responses
from .base import BACKENDS, Backend, BackendRequest, Reply, Usage, get_backend, register

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
