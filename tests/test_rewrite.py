"""rewrite.py through `run()`: protection, chunking, verification, caching and concurrency."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import gpt_tools
from gpt_tools import ApiError, ReplyRejected
from gpt_tools.core.session import Session
from gpt_tools.state.cache import ResultCache
from tests.conftest import program, write_config
from tests.fake_clock import FakeClock
from tests.fake_openai import FakeOpenAI, Scripted, fix_typos
from tests.scripted_backend import ScriptedBackend

LINTER = "MarkdownLinter"
# The fake server listens with a backlog of 5: more simultaneous connects can stall a second on a SYN
# retransmit, so multi-chunk runs here stay at 4 requests in flight.
JOBS = 4


def _configure(extra: str = "", retries: int = 2) -> None:
    """Rewrite the config file the `api` fixture points GPT_TOOLS_CONFIG at."""
    write_config(Path.cwd(), f"max_retries = {retries}\nmax_retry_wait = 5\n" + extra)


def _sent(api: FakeOpenAI) -> list[str]:
    """The user text of every model request, in arrival order."""
    return [r.body["input"][0]["content"][0]["text"] for r in api.model_requests()]


def _section(i: int, typo: bool = False, size: int = 900) -> str:
    word = "teh" if typo else "the"
    body = f"This is {word} prose of section {i}, which stays as it is. "
    filler = "Plain sentence for padding the section to a realistic size. "
    text = f"## Section {i}\n\n{body}{filler * (size // len(filler))}\n\n"
    if i % 3 == 0:
        text += f"```python\nteh_{i} = 'code stays'\n```\n\n"
    if i % 4 == 0:
        text += f"Inline `teh_{i}()` and [a link](https://example.com/teh/{i}) and https://example.org/teh{i}.\n\n"
    return text


def _document(sections: int, typo_at: int | None = None, size: int = 900) -> str:
    return "# Handbook\n\nIntro.\n\n" + "".join(_section(i, i == typo_at, size) for i in range(sections))


PROTECTED = """\
---
title: teh front matter
---
# Guide

Prose with teh typo, inline `teh_code()` and a [link](https://example.com/teh "teh title").
Bare https://example.org/teh/path. And <https://example.net/teh>.

```sh
echo teh code block
```

    teh indented code

<div>teh html</div>

[ref]: https://example.com/teh-ref
"""


def test_protected_regions_are_not_sent_and_come_back_byte_identical(api: FakeOpenAI) -> None:
    result = gpt_tools.run(LINTER, PROTECTED)
    expected = PROTECTED.replace("Prose with teh typo", "Prose with the typo")
    assert result.text == expected
    [sent] = _sent(api)
    assert sent.count("teh") == 1  # only the prose typo reached the model
    for hidden in ("front matter", "teh_code", "example.com", "example.org", "example.net", "echo", "html"):
        assert hidden not in sent
    assert sent.startswith("⟦F1⟧\n# Guide\n")
    assert (result.requests, result.chunks) == (1, 1)


def test_reply_dropping_a_code_block_is_rejected(api: FakeOpenAI) -> None:
    text = "# Doc\n\nSome teh prose.\n\n```python\nx = 1\n```\n\nMore prose.\n"
    api.script(Scripted(text="# Doc\n\nSome the prose.\n\nMore prose.\n"))
    with pytest.raises(ReplyRejected, match=r"removed a protected code block \(line 5\); nothing was applied"):
        gpt_tools.run(LINTER, text)
    assert _sent(api) == ["# Doc\n\nSome teh prose.\n\n⟦B1⟧\n\nMore prose.\n"]


def test_reply_far_too_short_is_rejected(api: FakeOpenAI) -> None:
    text = "# Notes\n\n" + "A perfectly ordinary sentence with teh typo in it. " * 40 + "\n"
    assert 1900 < len(text) < 2200
    api.script(Scripted(text=text[: len(text) // 10]))
    with pytest.raises(ReplyRejected, match=r"is 10% of the input's size, outside 50%-200%"):
        gpt_tools.run(LINTER, text)


def test_reply_far_too_long_is_rejected(api: FakeOpenAI) -> None:
    text = "# Notes\n\n" + "Sentence number one with teh typo. " * 20 + "\n"
    api.script(Scripted(text=text * 3))
    with pytest.raises(ReplyRejected, match=r"is 300% of the input's size"):
        gpt_tools.run(LINTER, text)


def test_small_edits_to_a_tiny_document_are_not_ratio_checked(api: FakeOpenAI) -> None:
    api.script(Scripted(text="**The**.\n"))
    assert gpt_tools.run(LINTER, "teh\n").text == "**The**.\n"  # 9 chars for 4: below the floor


def test_large_document_is_chunked_and_only_the_typo_section_changes(api: FakeOpenAI) -> None:
    _configure("chunk_tokens = 2000\n")
    text = _document(300, typo_at=177)
    assert 280_000 < len(text.encode()) < 330_000
    result = gpt_tools.run(LINTER, text, session=Session(jobs=JOBS))
    assert result.chunks > 10
    assert result.requests == result.chunks == len(api.model_requests())
    before, after = text.split("\n## "), result.text.split("\n## ")
    assert len(before) == len(after)
    changed = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
    assert len(changed) == 1 and after[changed[0]].startswith("Section 177\n")
    assert result.text == text.replace("This is teh prose", "This is the prose")
    sent = _sent(api)
    assert sum(s.count("teh") for s in sent) == 1  # code, inline code and URLs all stayed home
    assert all(len(s) <= 2000 * 3 for s in sent)


def _cached_session(tmp_path: Path, jobs: int = JOBS) -> Session:
    return Session(jobs=jobs, cache=ResultCache(tmp_path / "cache"))


def test_session_cache_skips_known_chunks_and_converges(api: FakeOpenAI, tmp_path: Path) -> None:
    _configure("chunk_tokens = 400\n")  # each ~900-char section is one chunk
    session = _cached_session(tmp_path)
    text = _document(12, typo_at=5)
    first = gpt_tools.run(LINTER, text, session=session)
    sent = len(api.model_requests())
    assert first.requests == first.chunks == sent > 10
    assert first.text == text.replace("This is teh", "This is the")

    again = gpt_tools.run(LINTER, text, session=session)
    assert (again.text, again.requests, again.chunks) == (first.text, 0, first.chunks)
    assert len(api.model_requests()) == sent

    converged = gpt_tools.run(LINTER, first.text, session=session)
    assert (converged.text, converged.requests) == (first.text, 0)
    assert len(api.model_requests()) == sent

    edited = first.text.replace("prose of section 9,", "prose of section 9 (recieve),")
    assert edited != first.text
    rerun = gpt_tools.run(LINTER, edited, session=session)
    assert rerun.requests == 1 and len(api.model_requests()) == sent + 1
    assert rerun.text == edited.replace("recieve", "receive")
    assert "section 9 (recieve)" in _sent(api)[-1]


def test_cache_is_shared_through_the_folder_not_the_session(api: FakeOpenAI, tmp_path: Path) -> None:
    text = _document(2, typo_at=1)
    gpt_tools.run(LINTER, text, session=_cached_session(tmp_path))
    result = gpt_tools.run(LINTER, text, session=_cached_session(tmp_path))
    assert result.requests == 0 and len(api.model_requests()) == 1
    assert gpt_tools.run(LINTER, text).requests == 1  # no session cache: always asks


def test_refused_reply_is_remembered(api: FakeOpenAI, tmp_path: Path) -> None:
    session = _cached_session(tmp_path)
    text = "# Doc\n\nSome teh prose.\n\n```\ncode\n```\n"
    api.script(Scripted(text="# Doc\n\nSome the prose.\n"))
    with pytest.raises(ReplyRejected, match="removed a protected code block") as first:
        gpt_tools.run(LINTER, text, session=session)
    assert "remembered" not in str(first.value)
    with pytest.raises(ReplyRejected, match=r"removed a protected code block.*remembered from an earlier run"):
        gpt_tools.run(LINTER, text, session=session)
    assert len(api.model_requests()) == 1
    # Editing the text gives the model a new chance.
    result = gpt_tools.run(LINTER, text.replace("Some", "Any"), session=session)
    assert result.text == "# Doc\n\nAny the prose.\n\n```\ncode\n```\n"


@pytest.mark.parametrize("fault", ["incomplete", "500"])
def test_transient_failure_is_not_remembered(api: FakeOpenAI, tmp_path: Path, fault: str) -> None:
    _configure(retries=0)
    session = _cached_session(tmp_path)
    text = "# Doc\n\nSome teh prose.\n"
    api.script(Scripted(fault=fault))
    with pytest.raises(ReplyRejected if fault == "incomplete" else ApiError):
        gpt_tools.run(LINTER, text, session=session)
    result = gpt_tools.run(LINTER, text, session=session)
    assert (result.text, result.requests) == ("# Doc\n\nSome the prose.\n", 1)
    assert len(api.model_requests()) == 2


def test_chunks_run_concurrently_up_to_jobs(api: FakeOpenAI, tmp_path: Path) -> None:
    _configure("chunk_tokens = 400\n")
    api.latency = 0.05
    lock = threading.Condition()
    state = {"now": 0, "peak": 0, "calls": 0}

    def responder(text: str) -> str:
        with lock:
            state["now"] += 1
            state["calls"] += 1
            state["peak"] = max(state["peak"], state["now"])
            lock.notify_all()
            # Hold this request until 4 are in flight at once (never happens if chunks run serially).
            lock.wait_for(lambda: state["peak"] >= 4, timeout=10)
            state["now"] -= 1
        return fix_typos(text)

    api.responder = responder
    text = _document(10, typo_at=3)
    result = gpt_tools.run(LINTER, text, session=Session(jobs=4))
    assert result.chunks >= 8 and state["calls"] == result.chunks
    assert state["peak"] == 4  # concurrent, and never more than jobs
    assert result.text == text.replace("This is teh", "This is the")


def test_rate_limit_on_one_chunk_still_gives_a_complete_result(api: FakeOpenAI, waits: FakeClock) -> None:
    _configure("chunk_tokens = 400\n")
    api.script(Scripted(fault="429", retry_after=0.2))
    retries: list[object] = []
    text = _document(6, typo_at=2)
    result = gpt_tools.run(LINTER, text, on_retry=retries.append, session=Session(jobs=JOBS))
    assert result.text == text.replace("This is teh", "This is the")
    assert result.chunks > 1 and result.requests == result.chunks
    assert len(api.model_requests()) == result.chunks + 1
    assert len(retries) == 1
    assert waits.waits[:1] == [0.2] and max(waits.waits) == 0.2  # Retry-After, shared by the chunks, not spent


@pytest.mark.parametrize("chunk_tokens", [4000, 300])
def test_crlf_document_keeps_crlf(api: FakeOpenAI, chunk_tokens: int) -> None:
    _configure(f"chunk_tokens = {chunk_tokens}\n")
    text = _document(4, typo_at=1).replace("\n", "\r\n")
    result = gpt_tools.run(LINTER, text, session=Session(jobs=JOBS))
    assert (result.chunks > 1) is (chunk_tokens == 300)
    assert result.text == text.replace("This is teh", "This is the")
    assert "\n" not in result.text.replace("\r\n", "")


def test_bom_is_kept_and_never_sent(api: FakeOpenAI) -> None:
    text = "\ufeff---\ntitle: x\n---\n# Doc\n\nSome teh prose.\n"
    result = gpt_tools.run(LINTER, text)
    assert result.text == text.replace("teh", "the")
    [sent] = _sent(api)
    assert sent == "⟦F1⟧\n# Doc\n\nSome teh prose.\n"  # front matter found after the BOM


def test_streamed_deltas_only_when_nothing_is_masked(api: FakeOpenAI) -> None:
    deltas: list[str] = []
    plain = "# Doc\n\nSome teh prose.\n"
    assert gpt_tools.run(LINTER, plain, on_delta=deltas.append).text == plain.replace("teh", "the")
    assert "".join(deltas) == plain.replace("teh", "the")
    deltas.clear()
    gpt_tools.run(LINTER, plain + "\n`code`\n", on_delta=deltas.append)
    assert deltas == []  # partial text would show placeholders


def test_protect_off_sends_code_as_is(api: FakeOpenAI) -> None:
    _configure("protect = false\n")
    text = "# Doc\n\nSome teh prose and `teh code`.\n"
    result = gpt_tools.run(LINTER, text)
    assert _sent(api) == [text]
    assert result.text == text.replace("teh", "the")


def test_protect_off_allows_editing_marker_like_text(api: FakeOpenAI) -> None:
    _configure("protect = false\n")
    text = "# Markers\n\nA placeholder looks like ⟦B1⟧ in teh output.\n"
    api.script(Scripted(text="# Markers\n\nA placeholder looks like [B1] in the output.\n"))
    assert gpt_tools.run(LINTER, text).text == "# Markers\n\nA placeholder looks like [B1] in the output.\n"


def test_form_feed_in_prose_does_not_expose_a_code_block(api: FakeOpenAI) -> None:
    text = "# Doc\n\nPage one\x0c\x0c\x0cpage two.\n\n```\nteh = 1\n```\n"
    result = gpt_tools.run(LINTER, text)
    assert "teh = 1" not in _sent(api)[0]
    assert result.text == text


# --- The content guard through run(): what the pre-commit hook and the filter would have written --------


def _paragraphs(count: int) -> str:
    return "# Guide\n\n" + "".join(
        f"Install step {i}: run the command number {i} and check its output.\n\n" for i in range(count)
    )


def test_reply_dropping_paragraphs_is_refused_and_nothing_is_cached_as_a_result(
    api: FakeOpenAI, tmp_path: Path
) -> None:
    text = _paragraphs(10)
    kept = text.split("\n\n")
    api.script(Scripted(text="\n\n".join(kept[:4] + kept[8:])))
    session = _cached_session(tmp_path)
    with pytest.raises(
        ReplyRejected, match=r"drops 4 of 10 paragraphs, starting 'Install step 3: .*nothing was applied"
    ):
        gpt_tools.run(LINTER, text, session=session)
    entries = [p.read_text(encoding="utf-8") for p in (tmp_path / "cache").rglob("*.json")]
    assert len(entries) == 1 and '"refused"' in entries[0] and '"text"' not in entries[0]


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (lambda t: "Here is the fixed document:\n\n" + t, r"adds 1 block at the start"),
        (lambda t: t + "\nLet me know if you need anything else!\n", r"adds 1 block at the end"),
        (lambda t: t + t, r"adds 11 blocks at the end"),
        (lambda t: "".join(f"A note about day {i}: it was sunny, warm and calm.\n\n" for i in range(11)), "nothing in"),
    ],
    ids=["preamble", "closing note", "twice", "unrelated"],
)
def test_chatter_duplicates_and_unrelated_replies_are_refused(
    api: FakeOpenAI, reply: Callable[[str], str], message: str
) -> None:
    text = _paragraphs(10)
    api.script(Scripted(text=reply(text)))
    with pytest.raises(ReplyRejected, match=message):
        gpt_tools.run(LINTER, text)


def test_one_chunk_replaced_by_another_is_refused(api: FakeOpenAI) -> None:
    _configure("chunk_tokens = 400\n")
    text = _document(4, typo_at=1)
    first: list[str] = []

    def responder(chunk: str) -> str:  # every chunk comes back as the first one the server saw
        first.append(chunk)
        return first[0]

    api.responder = responder
    with pytest.raises(ReplyRejected, match=r"the reply for chunk \d+/\d+ "):
        gpt_tools.run(LINTER, text, session=Session(jobs=1))


def test_simplifier_may_reword_but_not_drop(api: FakeOpenAI) -> None:
    wordy = "In order to utilize the installer, you must download it beforehand.\n\n"
    keep = "Keep the installer somewhere safe.\n\n"
    end = "Then run it, and follow every prompt until the installer says that it has finished its work.\n"
    text = f"# Setup\n\n{wordy}{keep}{end}"
    plain = f"# Setup\n\nTo use the installer, download it first.\n\n{keep}{end}"
    api.script(Scripted(text=plain), Scripted(text=plain.replace(keep, "")))
    assert gpt_tools.run("Simplifier", text).text == plain
    with pytest.raises(ReplyRejected, match=r"drops 1 of 3 paragraphs, starting 'Keep the installer somewhere safe\.'"):
        gpt_tools.run("Simplifier", text)


# --- Ctrl-C --------------------------------------------------------------------------------------------


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


def test_ctrl_c_closes_every_chunk_in_flight_and_exits_130(api: FakeOpenAI, tmp_path: Path) -> None:
    _configure(f"chunk_tokens = 400\njobs = {JOBS}\n")
    document = tmp_path / "long.md"
    document.write_text(_document(10, typo_at=3), encoding="utf-8")
    api.script(*[Scripted(delay=120) for _ in range(20)])  # every reply held far longer than the test runs
    run = subprocess.Popen(
        [program("gpt-tools"), "run", LINTER, str(document)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        _until(lambda: len(api.model_requests()) == JOBS, f"{JOBS} chunks are in flight")
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=30)  # without the cancel it waits the full 120 s for the replies
    finally:
        run.kill()
    assert run.returncode == 130, err
    assert out == b""
    _until(lambda: api.hung_up == JOBS, "the server saw every connection closed")
    assert len(api.model_requests()) == JOBS  # no chunk was started after Ctrl-C


def test_a_failed_chunk_stops_the_others_instead_of_paying_for_them(api: FakeOpenAI) -> None:
    _configure(f"chunk_tokens = 400\njobs = {JOBS}\n")
    text = _document(10, typo_at=3)
    api.script(*[Scripted(delay=120) for _ in range(JOBS - 1)])
    api.script(Scripted(fault="incomplete"), *[Scripted(delay=120) for _ in range(20)])
    errors: list[BaseException] = []

    def work() -> None:
        try:
            gpt_tools.run(LINTER, text)  # no cache: the other chunks' fixes could not be kept anyway
        except BaseException as exc:  # reported below
            errors.append(exc)

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout=30)  # without the cancel it waits the full 120 s for the held replies
    assert not worker.is_alive()
    assert [type(e) for e in errors] == [ReplyRejected] and "not complete" in str(errors[0])
    # Every request the server held (a worker freed by the failure may have started one more chunk, which
    # its cancel may close before the server holds it) was hung up: nothing is left generating.
    _until(lambda: api.held >= JOBS - 1 and api.hung_up == api.held, "the server saw every held connection closed")
    assert len(api.model_requests()) <= JOBS + 1


def test_simplifier_may_shorten_below_half_when_every_block_is_kept(api: FakeOpenAI) -> None:
    wordy = (
        "# Backups\n\n"
        "It is of the utmost importance that, prior to undertaking any modification of the database, "
        "administrators make absolutely certain that a complete and verified backup has been created.\n\n"
        "In the event that the restoration of a backup should become necessary at some point in the "
        "future, the restoration procedure that is documented in the operations handbook should be followed.\n"
    )
    plain = (
        "# Backups\n\nBefore administrators change the database, they must make a complete, verified backup.\n\n"
        "If you need to restore a backup later, follow the procedure in the operations handbook.\n"
    )
    assert 0.3 < len(plain) / len(wordy) < 0.5
    api.script(Scripted(text=plain), Scripted(text=plain))
    assert gpt_tools.run("Simplifier", wordy).text == plain
    with pytest.raises(ReplyRejected, match=r"outside 50%-200%"):
        gpt_tools.run(LINTER, wordy)  # a copy editor keeps the 50 % floor


# --- what the model is told about the markers it is sent ------------------------------------------

EVERY_KIND = """\
---
title: x
---
# Teh guide {#guide}

Run `make` and see [docs](https://example.com "Docs"), <b class="x">bold</b>, {{ page.title }}
and www.example.org or me@example.com.[^1]

```sh
echo teh
```

<div>
html
</div>

[ref]: https://example.com/ref

[^1]: A note.

<!-- gpt-tools: off -->
teh kept
<!-- gpt-tools: on -->
"""


@pytest.mark.parametrize("extra", ["", "Uses ⟦ and ⟧ itself.\n"], ids=["first-pair", "other-pair"])
def test_the_explanation_names_exactly_the_markers_protect_produces(extra: str) -> None:
    from gpt_tools.markdown import protect, protect_explain

    masked = protect.mask(EVERY_KIND + extra)
    note = protect_explain.explain(masked)
    tokens = masked.pattern.findall(masked.text)
    opening, closing = masked.markers
    assert f"{opening}, a capital letter, a number, {closing}" in note and f"first one here is {tokens[0]}" in note
    listed = [line[2:].split("…")[0] for line in note.splitlines() if line.startswith("- ")]
    assert sorted(set(listed)) == sorted({token[:2] for token in tokens})  # every letter sent, none other
    assert {region.kind for region in masked.regions} == set(protect_explain.DESCRIPTIONS)  # every kind
    assert set(protect_explain.DESCRIPTIONS) == set(protect._LETTERS)
    # The marker spelling explained is the one the pattern restores.
    assert all(masked.pattern.fullmatch(protect.marker(masked.markers, t[1], 7)) for t in tokens)
    assert protect_explain.explain(protect.mask("No markers here.\n")) == ""


def test_a_custom_rewriter_is_told_what_its_markers_are(scripted: ScriptedBackend, tmp_path: Path) -> None:
    write_config(Path.cwd(), 'max_retries = 0\n[assistants.Mine]\nmode = "rewrite"\ninstructions = "Fix it."\n')
    gpt_tools.run("Mine", "Fix teh `code` here.\n")
    sent = scripted.requests[-1]
    assert sent.text == "Fix teh ⟦C1⟧ here.\n"
    assert sent.instructions.startswith("Fix it.") and "- ⟦C…⟧ inline code" in sent.instructions
    assert "⟦U" not in sent.instructions  # only what this text holds
    gpt_tools.run("Mine", "Nothing to hide.\n")
    assert "Protected regions" not in scripted.requests[-1].instructions


def test_no_built_in_prompt_describes_markers_that_are_never_sent() -> None:
    folder = Path(gpt_tools.__file__).parent / "assistants"
    assert [path.name for path in folder.glob("*.md") if "⟦" in path.read_text() or "GPT0" in path.read_text()] == []


def test_edits_mode_sends_raw_text_and_says_what_edits_are_refused(scripted: ScriptedBackend, edits_mode: None) -> None:
    from gpt_tools.markdown import edit_guard, protect

    scripted.responder = lambda request: '{"edits": []}'
    gpt_tools.run("MarkdownLinter", "Fix teh `code` here.\n")
    sent = scripted.requests[-1]
    assert sent.text == "Fix teh `code` here.\n" and "Protected regions" not in sent.instructions
    assert edit_guard.NEVER_EDITED in sent.instructions.replace("\n  ", " ")
    assert set(protect._LETTERS) <= set(edit_guard._KIND_NAMES)


def test_the_dry_run_counts_the_marker_explanation_it_would_send(scripted: ScriptedBackend) -> None:
    from gpt_tools.core.preview import preview
    from gpt_tools.markdown import protect, protect_explain
    from gpt_tools.markdown.textio import estimate_tokens

    plain, masked = "Fix teh code here.\n", "Fix teh `code` here.\n"
    note = protect_explain.explain(protect.mask(masked))
    grown = preview(LINTER, masked).input_tokens - preview(LINTER, plain).input_tokens
    assert grown >= estimate_tokens(note) > 50
