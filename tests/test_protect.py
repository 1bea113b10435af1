"""protect.py: what is hidden from the model, how it comes back, and which replies are refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

import gpt_tools
from gpt_tools.core.inputs import prepare
from gpt_tools.core.rewrite import assemble, check_chunk_reply
from gpt_tools.errors import InputRefused, ReplyRejected
from gpt_tools.markdown.chunking import split_chunks
from gpt_tools.markdown.protect import Masked, mask, restrict, unmask
from gpt_tools.wire.backends import Reply
from tests.conftest import run_program
from tests.fake_openai import FakeOpenAI, Scripted
from tests.golden import fixture_cases
from tests.scripted_backend import ScriptedBackend, fix_typos

YAML_FRONT = "---\ntitle: The Guide\ntags: [alpha, beta]\n---\n"
TOML_FRONT = "+++\ntitle = 'The Guide'\ndraft = false\n+++\n"
BODY = """\
# Title

Some prose with ``code with ` tick`` and `x = compute()` here.
See [the docs](https://example.com/docs "Docs title") and ![a diagram](pics/diagram.png 'Alt title').
Autolink <https://example.org/a?b=c> and bare https://example.net/end.
Also https://example.net/mid, then more prose.

- item one
  ```python
  teh_variable = 1
  ```
- item two

  ~~~
  tilde code in list
  ~~~

> quoted prose
> ```sh
> echo quoted-code
> ```

~~~ruby
puts "tilde fence"
~~~

    indented_code_line()
    another_indented_line()

<div class="note">
html block content
</div>

<!-- a comment nobody should edit -->

[ref]: https://example.com/ref "Ref Title"
[^note]: footnote prose with `footnote_code` inside

| Column | Other |
|--------|-------|
| `cell_code` | [cell link](http://cells.example/x) |
| plain | text |

Last paragraph, see https://example.com/final.
"""
RICH = {"yaml": YAML_FRONT + BODY, "toml": TOML_FRONT + BODY}


def _round_trips(text: str) -> Masked:
    masked = mask(text)
    assert unmask(masked.text, masked) == text
    return masked


@pytest.mark.parametrize("crlf", [False, True], ids=["lf", "crlf"])
@pytest.mark.parametrize("front", ["yaml", "toml"])
def test_rich_document_round_trips(front: str, crlf: bool) -> None:
    text = RICH[front].replace("\n", "\r\n") if crlf else RICH[front]
    masked = _round_trips(text)
    assert masked.text.startswith("⟦F1⟧" + ("\r\n" if crlf else "\n"))
    # Every region is a substring of the document, and nothing in masked.text is left of it.
    assert all(region.original in text for region in masked.regions)
    assert ("\r\n" in masked.text) is crlf
    if crlf:
        assert "\n" not in masked.text.replace("\r\n", "")


PROJECT = Path(__file__).resolve().parent.parent


def _markdown_files() -> Iterator[Path]:
    for root in (PROJECT, Path("/usr/share/doc")):
        yield from sorted(root.rglob("*.md"))


def _readable(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    # Keeps the loop quick (unmask() is O(regions x size)): the project's files whole, others' heads.
    limit = 64_000 if PROJECT in path.parents else 4_000
    return text[: text.rfind("\n", 0, limit) + 1] if len(text) > limit else text


def test_every_markdown_file_round_trips_and_chunks_partition_its_regions() -> None:
    checked = 0
    for path in _markdown_files():
        text = _readable(path)
        if text is None:
            continue
        crlf = text.replace("\r\n", "\n").replace("\n", "\r\n")
        try:
            masked, masked_crlf = mask(text), mask(crlf)
        except InputRefused:
            continue
        assert unmask(masked.text, masked) == text, path
        assert unmask(masked_crlf.text, masked_crlf) == crlf, path
        tokens = masked.pattern.findall(masked.text)
        assert sorted(tokens) == sorted(r.token for r in masked.regions), path  # each exactly once
        chunks = split_chunks(masked.text, 300)
        assert "".join(chunks) == masked.text, path
        parts = [restrict(masked, chunk) for chunk in chunks]
        assert sum(len(p.regions) for p in parts) == len(masked.regions), path
        assert "".join(unmask(p.text, p) for p in parts) == text, path
        checked += 1
    assert checked >= 5  # at least the project's own Markdown files


def test_protected_regions_are_hidden_and_prose_is_not() -> None:
    masked = mask(RICH["yaml"])
    hidden = [
        "title: The Guide",
        "code with ` tick",
        "x = compute()",
        "https://example.com/docs",
        "Docs title",
        "pics/diagram.png",
        "https://example.org/a?b=c",
        "https://example.net/end",
        "https://example.net/mid",
        "teh_variable",
        "tilde code in list",
        "echo quoted-code",
        'puts "tilde fence"',
        "indented_code_line",
        "html block content",
        "a comment nobody should edit",
        "https://example.com/ref",
        "Ref Title",
        "footnote_code",
        "cell_code",
        "http://cells.example/x",
        "https://example.com/final",
    ]
    assert [h for h in hidden if h in masked.text] == []
    visible = [
        "# Title",
        "Some prose with",
        "[the docs](",
        "![a diagram](",
        "- item one",
        "> quoted prose",
        "[ref]:",
        ": footnote prose with",  # its [^note] label is masked
        "| Column | Other |",
        "[cell link](",
        "| plain | text |",
        "Last paragraph, see",
    ]
    assert [v for v in visible if v not in masked.text] == []
    kinds = {region.kind for region in masked.regions}
    assert kinds == {"front matter", "code block", "HTML block", "code", "url", "link reference", "footnote label"}
    assert {region.token[1] for region in masked.regions} == {"F", "B", "H", "C", "U", "N"}


@pytest.mark.parametrize(
    ("line", "urls", "after"),
    [
        ("See https://example.com/a.\n", ["https://example.com/a"], "See ⟦U1⟧.\n"),
        ("(https://x.y/z) and https://x.y/q, ok\n", ["https://x.y/z", "https://x.y/q"], "(⟦U1⟧) and ⟦U2⟧, ok\n"),
        ("Query http://a.b/c?d=e!\n", ["http://a.b/c?d=e"], "Query ⟦U1⟧!\n"),
        ("[w](https://en.wikipedia.org/wiki/Foo_(bar))\n", ["https://en.wikipedia.org/wiki/Foo_(bar)"], "[w](⟦U1⟧)\n"),
    ],
)
def test_urls_are_masked_without_surrounding_punctuation(line: str, urls: list[str], after: str) -> None:
    masked = _round_trips(line)
    assert masked.text == after
    assert [r.original for r in masked.regions] == urls


def test_code_span_inside_link_text_and_link_target_both_masked() -> None:
    masked = _round_trips("Use [`run()`](https://example.com/run 'Run') now.\n")
    assert masked.text == "Use [⟦C1⟧](⟦U2⟧) now.\n"
    assert [(r.kind, r.original) for r in masked.regions] == [
        ("code", "`run()`"),
        ("url", "https://example.com/run 'Run'"),
    ]


def test_document_without_protected_regions_is_unchanged() -> None:
    text = "# Plain\n\nJust prose, with [a reference link][ref] and no code.\n"
    masked = _round_trips(text)
    assert masked.text == text and masked.regions == ()


def test_document_using_the_markers_gets_another_pair_and_round_trips() -> None:
    text = "Our placeholders look like ⟦B1⟧ and ⟦C2⟧; see `mask()`.\n\n```\ncode ⟦x⟧\n```\n"
    masked = _round_trips(text)
    assert masked.markers == ("⟪", "⟫")
    assert masked.text == "Our placeholders look like ⟦B1⟧ and ⟦C2⟧; see ⟪C2⟫.\n\n⟪B1⟫\n"
    # The document's own ⟦B1⟧ is prose: a reply may keep it as it is...
    assert unmask(masked.text, masked) == text
    # ...while the real placeholders are still checked.
    with pytest.raises(ReplyRejected, match="removed a protected code"):
        unmask("Our placeholders look like ⟦B1⟧ and ⟦C2⟧; see ⟪C2⟫.\n", masked)


def test_each_marker_pair_in_use_moves_to_the_next() -> None:
    assert mask("⟦ and ⟪ `c`\n").markers == ("〚", "〛")
    assert mask("only a closing ⟧ `c`\n").markers == ("⟪", "⟫")
    masked = _round_trips("⟦ ⟫ 〛 `c`\n")
    assert masked.markers == ("⦃", "⦄") and masked.text == "⟦ ⟫ 〛 ⦃C1⦄\n"


def test_document_using_every_marker_pair_is_refused() -> None:
    with pytest.raises(InputRefused, match="every bracket pair"):
        mask("⟦ ⟪ 〚 ⦃ `code`\n")


CODE_DOC = "# Doc\n\nIntro with `inline` text.\n\n```python\nteh = 1\n```\n\nOutro [link](https://example.com).\n"


def test_unmask_restores_an_edited_reply() -> None:
    masked = mask(CODE_DOC)
    assert masked.text == "# Doc\n\nIntro with ⟦C2⟧ text.\n\n⟦B1⟧\n\nOutro [link](⟦U3⟧).\n"
    reply = "# Document\n\nAn intro with ⟦C2⟧ in it.\n\n⟦B1⟧\n\nThe outro [a link](⟦U3⟧).\n"
    assert unmask(reply, masked) == (
        "# Document\n\nAn intro with `inline` in it.\n\n```python\nteh = 1\n```\n\n"
        "The outro [a link](https://example.com).\n"
    )


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (
            "# Doc\n\nIntro with ⟦C2⟧ text.\n\nOutro [link](⟦U3⟧).\n",
            r"the reply removed a protected code block \(line 5\); nothing was applied",
        ),
        (
            "# Doc\n\nIntro with ⟦C2⟧ text.\n\n⟦B1⟧\n\n⟦B1⟧\n\nOutro [link](⟦U3⟧).\n",
            r"the reply duplicated a protected code block \(line 5\); nothing was applied",
        ),
        (
            "# Doc\n\nIntro with text.\n\n⟦B1⟧\n\nOutro [link](⟦U3⟧).\n",
            r"the reply removed a protected code \(line 3\)",
        ),
        (
            "# Doc\n\nIntro with ⟦C2⟧ text.\n\n⟦B1⟧\n\nOutro [link]().\n",
            r"the reply removed a protected url \(line ",  # its exact line is checked in the line-number test
        ),
        (
            "# Doc\n\nOutro [link](⟦U3⟧).\n\n⟦B1⟧\n\nIntro with ⟦C2⟧ text.\n",
            r"moved protected regions .* out of order; nothing was applied",
        ),
        (
            "# Doc\n\nIntro with ⟦C2⟧ text.\n\n⟦B1⟧\n\nOutro [link](⟦U3⟧). ⟦B7⟧\n",
            r"invented a protected-region marker ⟦B7⟧; nothing was applied",
        ),
        (
            "# Doc\n\nIntro with ⟦C2⟧ text.\n\n⟪B1⟫\n\nOutro [link](⟦U3⟧).\n",
            r"removed a protected code block \(line 5\)",
        ),
    ],
    ids=["block-removed", "block-duplicated", "code-removed", "url-removed", "reordered", "invented", "re-marked"],
)
def test_unmask_refuses_damaged_replies(reply: str, message: str) -> None:
    with pytest.raises(ReplyRejected, match=message):
        unmask(reply, mask(CODE_DOC))


def test_region_lines_for_front_matter_blocks_and_inline() -> None:
    text = "---\na: 1\n---\n# T\n\nsee `one`\n\n<p>\nhtml\n</p>\n"
    masked = mask(text)
    assert [(r.kind, r.line) for r in masked.regions] == [("front matter", 1), ("HTML block", 8), ("code", 6)]


def test_inline_region_line_counts_the_lines_of_blocks_before_it() -> None:
    text = "```\none\ntwo\nthree\n```\n\nsee `code` on line 7\n"
    masked = mask(text)
    assert [(r.kind, r.line) for r in masked.regions] == [("code block", 1), ("code", 7)]
    with pytest.raises(ReplyRejected, match=r"protected code \(line 7\)"):
        unmask("⟦B1⟧\n\nsee on line 7\n", masked)


def test_restrict_keeps_only_the_regions_of_a_chunk() -> None:
    masked = mask(CODE_DOC)
    cut = masked.text.index("⟦B1⟧")
    first, second = masked.text[:cut], masked.text[cut:]
    head, tail = restrict(masked, first), restrict(masked, second)
    assert [r.token for r in head.regions] == ["⟦C2⟧"]
    assert [r.token for r in tail.regions] == ["⟦B1⟧", "⟦U3⟧"]
    assert head.markers == tail.markers == masked.markers
    assert unmask(head.text, head) + unmask(tail.text, tail) == CODE_DOC
    # A chunk's reply may not bring in another chunk's region.
    with pytest.raises(ReplyRejected, match="invented a protected-region marker ⟦B1⟧"):
        unmask(first + "⟦B1⟧\n", head)


@pytest.mark.parametrize("separator", ["\x0c", "\u2028", "\x85"])
def test_unusual_line_separators_do_not_shift_the_masked_block(separator: str) -> None:
    text = f"a{separator}b{separator}c{separator}d\n\n```\nteh secret code\n```\n\nOutro.\n"
    masked = _round_trips(text)
    assert "teh secret code" not in masked.text
    assert [r.original for r in masked.regions] == ["```\nteh secret code\n```"]


def test_placeholder_for_a_block_in_a_list_item_keeps_the_list_structure() -> None:
    text = "- item\n\n  ```\n  code\n  ```\n\n  more text in the item\n- item two\n"
    masked = _round_trips(text)
    md = MarkdownIt("commonmark")
    top = [t.type for t in md.parse(masked.text) if t.level == 0 and t.nesting >= 0]
    assert top == ["bullet_list_open"]


def test_unmask_refuses_a_block_placeholder_moved_into_prose() -> None:
    masked = mask("Intro line\n```\ncode\n```\nOutro\n")
    assert masked.text == "Intro line\n⟦B1⟧\nOutro\n"
    with pytest.raises(ReplyRejected):
        unmask("Intro line ⟦B1⟧ Outro\n", masked)  # today: 'Intro line ```\ncode\n``` Outro\n'


# --- golden fixtures (markdown-it's format: a title, then sections each closed by a "." line) ---------

MASKING = fixture_cases("protect/masking.md", 2)
REPLIES = fixture_cases("protect/replies.md", 3)


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize(("title", "parts"), MASKING, ids=[title for title, _ in MASKING])
def test_masking_fixture(title: str, parts: list[str], ending: str) -> None:
    text, expected = (part.replace("\n", ending) for part in parts)
    masked = mask(text)
    assert masked.text == expected
    assert unmask(masked.text, masked) == text
    # The model sees each region's bytes nowhere: every original is gone from the masked text.
    assert [r.original for r in masked.regions if r.original in masked.text] == []


@pytest.mark.parametrize(("title", "parts"), REPLIES, ids=[title for title, _ in REPLIES])
def test_reply_fixture(title: str, parts: list[str]) -> None:
    text, reply, result = parts
    masked = mask(text)
    if result == "refused\n":
        with pytest.raises(ReplyRejected):
            unmask(reply, masked)
    else:
        assert unmask(reply, masked) == result
        assert _blocks(result) == _blocks(text)  # every code block is still itself, in its container


def _blocks(text: str) -> list[tuple[str, str, int]]:
    tokens = MarkdownIt("commonmark").parse(text)
    return [(t.type, t.content, t.level) for t in tokens if t.type in {"fence", "code_block", "html_block"}]


def test_a_chunk_reply_is_settled_so_a_rerun_finds_it_in_the_cache() -> None:
    text = "Intro text here.\n\n- item\n\n  ```\n  code\n  ```\n"
    prepared = prepare(text, protect_regions=True, chunk_tokens=4000)
    (chunk,) = prepared.chunks
    reply = Reply(chunk.replace("  ⟦B1⟧", "⟦B1⟧"), "completed")
    # What is cached and assembled is the chunk as masked, not the model's re-spaced marker line.
    assert check_chunk_reply(reply, chunk, prepared.masked, "the document") == chunk
    assert assemble(prepared, [chunk], text) == text


# --- through gpt-filter, a real process, with a model that re-indents block markers -----------------

LISTS = (
    "# Steps\n\n- Install teh tool:\n\n  ```sh\n  pip install x\n  ```\n- Then run it.\n\n"
    "> Quoted:\n>\n>     indented_in_quote()\n\nOutro.\n\n    indented_code()\n"
)


def _flush_left(masked_text: str) -> str:
    """What a model does to a marker alone on its line: strips its indentation, quote spacing too."""
    return re.sub(r"(?m)^(>?)[ \t]+(?=⟦)", lambda m: m.group(1) and "> ", masked_text)


def test_gpt_filter_puts_re_indented_block_markers_back(api: FakeOpenAI) -> None:
    reply = _flush_left(mask(LISTS).text).replace("teh", "the")
    assert "\n⟦B1⟧" in reply and "\n⟦B3⟧" in reply  # the model really did move them
    api.script(Scripted(text=reply))
    done = run_program("gpt-filter", "MarkdownLinter", stdin=LISTS.encode())
    assert (done.returncode, done.stdout.decode()) == (0, LISTS.replace("teh", "the")), done.stderr


def test_gpt_filter_refuses_a_block_marker_joined_to_a_paragraph(api: FakeOpenAI) -> None:
    reply = mask(LISTS).text.replace("Outro.\n\n", "Outro.\n")  # the indented code would become prose
    api.script(Scripted(text=reply))
    done = run_program("gpt-filter", "MarkdownLinter", stdin=LISTS.encode())
    assert (done.returncode, done.stdout.decode()) == (1, LISTS)
    assert b"no longer be the same block" in done.stderr


def test_every_chunk_of_a_long_document_gets_its_block_markers_back() -> None:
    text = "".join(f"## Part {i}\n\n{LISTS}\n" for i in range(30))
    prepared = prepare(text, protect_regions=True, chunk_tokens=200)
    assert len(prepared.chunks) > 5
    parts = [
        check_chunk_reply(Reply(_flush_left(chunk), "completed"), chunk, prepared.masked, "a chunk")
        for chunk in prepared.chunks
    ]
    assert parts == list(prepared.chunks)
    assert assemble(prepared, parts, text) == text


@pytest.mark.timeout(60)  # a hang guard, not a benchmark: these took minutes when each opener scanned on
@pytest.mark.parametrize("opener", ["{{ ", "{% ", "{# ", "[a](", "[x]: ", "<a ", "``a `"])
def test_a_paragraph_of_unclosed_openers_is_masked_in_linear_time(opener: str) -> None:
    text = opener * 30_000 + "\n"
    masked = mask(text)
    assert unmask(masked.text, masked) == text


def test_inline_code_across_a_line_break_is_protected(scripted: ScriptedBackend) -> None:
    text = "Run `git commit\n--amend` to fix teh message.\n"
    masked = mask(text)
    assert "--amend" not in masked.text and unmask(masked.text, masked) == text
    scripted.responder = lambda request: fix_typos(request.text)
    assert gpt_tools.run("MarkdownLinter", text).text == text.replace("teh", "the")
    assert "--amend" not in scripted.texts[0]


# --- opt-out regions (<!-- gpt-tools: off --> … <!-- gpt-tools: on -->) ----------------------------

OPT_OUT = fixture_cases("protect/opt_out.md", 3)  # the document, what the model is sent, the fixed result


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
@pytest.mark.parametrize(("title", "parts"), OPT_OUT, ids=[title for title, _ in OPT_OUT])
def test_opt_out_fixture(title: str, parts: list[str], ending: str) -> None:
    text, expected, fixed = (part.replace("\n", ending) for part in parts)
    masked = mask(text)
    assert masked.text == expected
    assert unmask(fix_typos(masked.text), masked) == fixed
    # protect = false hides the opt-out regions all the same, and nothing else.
    only = mask(text, everything=False)
    assert [r.original for r in only.regions] == [r.original for r in masked.regions if r.kind == "opt-out region"]
    assert unmask(fix_typos(only.text), only) == fix_typos(text) if not only.regions else True
    assert all(r.original not in only.text for r in only.regions)


def test_a_reply_that_drops_an_opt_out_marker_is_refused() -> None:
    text = OPT_OUT[0][1][0]
    with pytest.raises(ReplyRejected, match="removed a protected opt-out region"):
        unmask(mask(text).text.replace("⟦O1⟧\n", ""), mask(text))


@pytest.mark.parametrize("mode", ["document", "edits"])
@pytest.mark.parametrize("ending", ["\n", "\r\n"], ids=["lf", "crlf"])
@pytest.mark.parametrize(("title", "parts"), OPT_OUT, ids=[title for title, _ in OPT_OUT])
def test_run_leaves_opt_out_regions_byte_identical(
    api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, title: str, parts: list[str], ending: str, mode: str
) -> None:
    """Through the real CLI, in both modes: the region is never sent (a marker stands in for it, and the
    instructions say what it is), and the rest is fixed."""
    monkeypatch.setenv("GPT_TOOLS_OUTPUT", mode)
    text, _, fixed = (part.replace("\n", ending) for part in parts)
    path = Path("doc.md")
    path.write_bytes(text.encode())
    done = run_program("gpt-tools", "run", "MarkdownLinter", str(path), "-o", str(path))
    assert done.returncode == 0, done.stderr
    assert path.read_bytes() == fixed.encode()
    requests = api.model_requests()
    sent = "".join(str(r.body) for r in requests)
    inside = [r.original for r in mask(text).regions if r.kind == "opt-out region"]
    lines = {line.strip() for region in inside for line in region.splitlines() if "gpt-tools:" not in line}
    assert [line for line in lines if line and line in sent] == []
    if inside:
        opening, closing = mask(text).markers  # another pair where the document shows ⟦O1⟧ itself
        assert f"- {opening}O…{closing} a part the author marked to be left exactly as it is" in str(
            requests[-1].body["instructions"]
        )


def test_protect_false_still_honours_opt_out_regions(api: FakeOpenAI, tmp_path: Path) -> None:
    text, _, fixed = OPT_OUT[0][1]
    Path("gpt-tools.toml").write_text("protect = false\n")
    done = run_program("gpt-filter", "MarkdownLinter", stdin=text.encode())
    assert (done.returncode, done.stdout.decode()) == (0, fixed), done.stderr


@pytest.mark.parametrize("everything", [True, False], ids=["protect", "protect-false"])
@pytest.mark.parametrize(
    ("text", "damage"),
    [
        # Bytes intact, but no longer a region: inside an unclosed fence, or swallowed by a new `off`.
        ("- one\n- two\n\n<!-- gpt-tools: off -->\nkeep\n<!-- gpt-tools: on -->\n", ("two", "two\n\n```")),
        ("- one\n- two\n\n<!-- gpt-tools: off -->\nkeep\n<!-- gpt-tools: on -->\n",
         ("two", "two\n\n<!-- gpt-tools: off -->")),
        # Text joined to the marker's line: refused as a moved marker, before any restoring.
        ("- one\n- <!-- gpt-tools: off -->\n  keep\n  <!-- gpt-tools: on -->\n- two\n", ("- ⟦O1⟧", "- x ⟦O1⟧")),
    ],
)  # fmt: skip
def test_a_reply_that_changes_an_opt_out_regions_lines_is_refused(
    text: str, damage: tuple[str, str], everything: bool
) -> None:
    masked = mask(text, everything=everything)
    with pytest.raises(ReplyRejected, match=r"opt-out region .*\(?line [24]"):
        unmask(masked.text.replace(*damage), masked)
    assert unmask(masked.text.replace("one", "One"), masked) == text.replace("one", "One")  # prose may change


@pytest.mark.parametrize("everything", [True, False], ids=["protect", "protect-false"])
@pytest.mark.parametrize(
    ("text", "damage"),
    [
        # The list marker or quote before `off` is the region's first byte: the model's is not kept.
        ("- one\n- <!-- gpt-tools: off -->\n  keep\n  <!-- gpt-tools: on -->\n- two\n", ("- ⟦O1⟧", "* ⟦O1⟧")),
        ("1. one\n2. <!-- gpt-tools: off -->\n   keep\n   <!-- gpt-tools: on -->\n", ("2. ⟦O1⟧", "1. ⟦O1⟧")),
        ("> one\n> <!-- gpt-tools: off -->\n> keep\n> <!-- gpt-tools: on -->\n", ("> ⟦O1⟧", "⟦O1⟧")),
    ],
)  # fmt: skip
def test_an_opt_out_regions_first_line_gets_its_own_prefix_back(
    text: str, damage: tuple[str, str], everything: bool
) -> None:
    masked = mask(text, everything=everything)
    assert unmask(masked.text.replace(*damage).replace("one", "One"), masked) == text.replace("one", "One")


def test_an_opt_out_region_ending_the_document_may_get_text_after_it() -> None:
    text = "Fix teh.\n\n<!-- gpt-tools: off -->\nkeep\n<!-- gpt-tools: on -->"
    masked = mask(text)
    assert unmask(masked.text + "\n\nMore.", masked) == text + "\n\nMore."


@pytest.mark.parametrize("mode", ["document", "edits"])
def test_a_document_starting_with_a_bom_keeps_its_first_line_opt_out(
    api: FakeOpenAI, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    monkeypatch.setenv("GPT_TOOLS_OUTPUT", mode)
    text = "\ufeff<!-- gpt-tools: off -->\nteh kept\n<!-- gpt-tools: on -->\n\nFix teh rest.\n"
    done = run_program("gpt-filter", "MarkdownLinter", stdin=text.encode())
    assert (done.returncode, done.stdout.decode()) == (0, text.replace("Fix teh", "Fix the")), done.stderr
    assert "teh kept" not in str(api.model_requests()[-1].body)


def test_marker_like_text_with_nothing_hidden_is_just_text() -> None:
    from gpt_tools.markdown import edit_guard, protect_explain

    text = "See ⟦O1⟧ and ⟦B2⟧ here.\n"  # e.g. a chunk of hidden text, or a document about markers
    only = mask(text, everything=False)
    assert (only.text, only.regions) == (text, ())
    assert protect_explain.explain(only) == "" and edit_guard.regions(text, everything=False) == []


def test_opt_out_regions_in_lists_survive_a_document_of_many_chunks(api: FakeOpenAI, tmp_path: Path) -> None:
    Path("gpt-tools.toml").write_text("max_retries = 0\nchunk_tokens = 64\n")
    region = "- <!-- gpt-tools: off -->\n  teh kept\n  <!-- gpt-tools: on -->\n"
    parts = [f"Paragraph {i} has teh typo in it, long enough for a chunk.\n\n- item\n{region}\n" for i in range(8)]
    doc = "".join(parts)
    done = run_program("gpt-filter", "MarkdownLinter", stdin=doc.encode())
    assert (done.returncode, done.stdout.decode()) == (0, doc.replace("has teh", "has the")), done.stderr
    assert len(api.model_requests()) > 2 and "teh kept" not in str([r.body for r in api.model_requests()])
