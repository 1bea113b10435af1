"""`gpt_tools` itself: the public API, each name imported lazily (PEP 562), and exit_status()."""

from __future__ import annotations

import json
import subprocess
import sys

import click
import pytest

import gpt_tools
from gpt_tools import errors
from tests.fake_openai import FakeOpenAI


def _loaded_after(code: str) -> list[str]:
    """The gpt_tools modules a fresh interpreter holds after running code."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(m for m in sys.modules if m.startswith('gpt_tools'))))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return list(json.loads(done.stdout.splitlines()[-1]))


def test_import_gpt_tools_imports_no_submodule() -> None:
    assert _loaded_after("import gpt_tools") == ["gpt_tools"]


def test_an_error_class_costs_only_the_errors_module() -> None:
    assert _loaded_after("from gpt_tools import UsageError, exit_status") == ["gpt_tools", "gpt_tools.errors"]


def test_every_public_name_resolves_to_its_home() -> None:
    assert set(gpt_tools.__all__) == {"__version__", *gpt_tools._HOME}
    for name in gpt_tools.__all__:
        assert getattr(gpt_tools, name) is not None, name
    assert gpt_tools.run.__module__ == "gpt_tools.core.runner"
    assert gpt_tools.conversation.__name__ == "gpt_tools.state.conversation"
    assert gpt_tools.Conversation is gpt_tools.conversation.Conversation
    assert dir(gpt_tools) == sorted(gpt_tools.__all__)


def test_an_internal_name_is_not_public() -> None:
    with pytest.raises(AttributeError, match="resolve_settings"):
        gpt_tools.resolve_settings  # type: ignore[attr-defined]  # noqa: B018
    with pytest.raises(ImportError):
        from gpt_tools import resolve_settings  # type: ignore[attr-defined]  # noqa: F401


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (errors.UsageError("x"), 2),
        (errors.ConfigError("f.toml", "model", "bad"), 2),
        (errors.InputRefused("secret"), 2),
        (errors.RunFailed("cut"), 1),
        (errors.ApiError("boom", status=500), 1),
        (errors.Cancelled("stop"), 130),
        (KeyboardInterrupt(), 130),
        (click.UsageError("no such option"), 2),
        (ValueError("bug"), 1),
        (MemoryError(), 1),
    ],
)
def test_exit_status_by_type_and_code(exc: BaseException, status: int) -> None:
    assert gpt_tools.exit_status(exc) == status


def test_check_endpoints_names_a_missing_key() -> None:
    [check] = gpt_tools.check_endpoints(gpt_tools.load_config(), reach=False)
    assert isinstance(check.problem, gpt_tools.MissingKey)
    assert check.status is None and not check.has_key


def test_check_endpoints_probes_each_distinct_endpoint_once(api: FakeOpenAI) -> None:
    config = gpt_tools.load_config()
    assert len(config.assistants) > 1  # the built-ins, all on one endpoint
    [check] = gpt_tools.check_endpoints(config)
    assert check.problem is None and check.has_key and isinstance(check.status, int)
    assert check.where == api.url.rstrip("/")
