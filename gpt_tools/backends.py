"""The public backend API (`from gpt_tools.backends import register`): see gpt_tools/wire/backends/."""

from gpt_tools.wire.backends import BACKENDS, Backend, BackendRequest, Reply, Usage, get_backend, register

__all__ = ["BACKENDS", "Backend", "BackendRequest", "Reply", "Usage", "get_backend", "register"]
