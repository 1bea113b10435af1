"""Text I/O: refuse what is not UTF-8 text, and give the reply the input's line endings, BOM and blank lines."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from gpt_tools.core.inputs import prepare
from gpt_tools.core.rewrite import assemble
from gpt_tools.errors import InputRefused
from gpt_tools.markdown.protect import restrict, unmask
from gpt_tools.markdown.textio import BOM, conform_to_input, decode_input, strip_bom, uses_crlf
from tests.conftest import run_program
from tests.fake_openai import FakeOpenAI, Scripted
from tests.golden import fixture_cases, visible

# --- decode_input ------------------------------------------------------------------------------------


def test_decodes_utf8_unchanged() -> None:
    text = "\ufeff# Tïtle\r\n\r\nnaïve café — 日本語 🎉\n"
    assert decode_input(text.encode("utf-8")) == text


def test_empty_input_decodes_to_empty_string() -> None:
    assert decode_input(b"") == ""


def test_nul_bytes_refused_as_binary() -> None:
    with pytest.raises(InputRefused) as caught:
        decode_input(b"PNG\x00\x01\x02", source="image.png")
    message = str(caught.value)
    assert "image.png" in message
    assert "binary" in message
    assert caught.value.exit_code == 2


def test_utf16_text_is_refused() -> None:
    with pytest.raises(InputRefused, match="binary"):
        decode_input("hello".encode("utf-16"))


def test_invalid_utf8_reports_byte_offset_and_line() -> None:
    data = b"line one\nline two\ncaf\xe9 latin-1\n"
    with pytest.raises(InputRefused) as caught:
        decode_input(data, source="notes.txt")
    message = str(caught.value)
    assert "notes.txt" in message
    assert "not valid UTF-8" in message
    assert "byte 21," in message  # 9 + 9 + len("caf")
    assert data[21:22] == b"\xe9"
    assert "line 3" in message
    assert caught.value.exit_code == 2


def test_invalid_utf8_on_first_line() -> None:
    with pytest.raises(InputRefused, match=r"byte 0, line 1"):
        decode_input(b"\xff\xfe rest")


def test_truncated_multibyte_sequence_at_end_is_refused() -> None:
    data = "ok\n€".encode()[:-1]
    with pytest.raises(InputRefused, match=r"byte 3, line 2"):
        decode_input(data)


def test_default_source_name() -> None:
    with pytest.raises(InputRefused, match=r"^input "):
        decode_input(b"\x80")


# --- uses_crlf ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\r\nb\r\n", True),
        ("a\nb\n", False),
        ("no newline at all", False),
        ("", False),
        ("a\r\nb\r\nc\n", True),  # majority CRLF
        ("a\r\nb\nc\n", False),  # majority LF
        ("a\r\nb\n", True),  # a tie keeps CRLF
        ("single\r\n", True),
        ("a\rb\r", False),  # old Mac CR only is not CRLF
    ],
)
def test_uses_crlf_majority_rule(text: str, expected: bool) -> None:
    assert uses_crlf(text) is expected


# --- strip_bom ---------------------------------------------------------------------------------------


def test_strip_bom() -> None:
    assert strip_bom(BOM + "# Title\n") == "# Title\n"
    assert strip_bom("# Title\n") == "# Title\n"
    assert strip_bom("") == ""
    # Only one leading mark is the BOM; a second one is content.
    assert strip_bom(BOM + BOM + "x") == BOM + "x"
    # A BOM character in the middle is content and stays.
    assert strip_bom("a" + BOM + "b") == "a" + BOM + "b"


# --- conform_to_input: rewrite -----------------------------------------------------------------------


def rewrite(reply: str, original: str) -> str:
    return conform_to_input(reply, original, rewrite=True)


def write(reply: str, original: str) -> str:
    return conform_to_input(reply, original, rewrite=False)


def test_rewrite_crlf_input_gets_crlf_output_from_lf_reply() -> None:
    assert rewrite("# Notes\n\nI receive the mail.\n", "# Notes\r\n\r\nI recieve teh mail.\r\n") == (
        "# Notes\r\n\r\nI receive the mail.\r\n"
    )


def test_rewrite_crlf_reply_is_not_doubled() -> None:
    assert rewrite("a\r\nb\r\n", "x\r\ny\r\n") == "a\r\nb\r\n"


def test_rewrite_lf_input_gets_lf_output_from_crlf_reply() -> None:
    assert rewrite("a\r\nb\r\n", "x\ny\n") == "a\nb\n"


def test_rewrite_input_without_final_newline_gives_output_without() -> None:
    assert rewrite("the end\n", "teh end") == "the end"
    assert rewrite("the end\n\n\n", "teh end") == "the end"


def test_rewrite_adds_final_newline_when_input_had_one() -> None:
    assert rewrite("the end", "teh end\n") == "the end\n"


def test_rewrite_keeps_exact_trailing_blank_lines() -> None:
    assert rewrite("Fixed.\n", "Fixd.\n\n") == "Fixed.\n\n"
    assert rewrite("Fixed.", "Fixd.\n\n\n") == "Fixed.\n\n\n"
    assert rewrite("Fixed.\n\n\n\n", "Fixd.\n\n") == "Fixed.\n\n"


def test_rewrite_keeps_leading_blank_lines() -> None:
    assert rewrite("# Fixed\n", "\n\n# Fixd\n") == "\n\n# Fixed\n"
    assert rewrite("\n\n\n# Fixed\n", "# Fixd\n") == "# Fixed\n"


def test_rewrite_keeps_crlf_blank_lines_on_both_sides() -> None:
    assert rewrite("\n# Fixed\nbody\n", "\r\n\r\n# Fixd\r\nbody\r\n\r\n") == "\r\n\r\n# Fixed\r\nbody\r\n\r\n"


def test_rewrite_keeps_inner_blank_lines_of_reply() -> None:
    assert rewrite("a\n\n\nb\n", "a\nb\n") == "a\n\n\nb\n"


def test_rewrite_keeps_bom() -> None:
    assert rewrite("the\n", BOM + "teh\n") == BOM + "the\n"


def test_rewrite_keeps_bom_with_crlf_and_leading_blank_line() -> None:
    assert rewrite("the\n", BOM + "\r\nteh\r\n") == BOM + "\r\nthe\r\n"


def test_rewrite_does_not_add_bom_or_keep_a_stray_one() -> None:
    assert rewrite(BOM + "the\n", "teh\n") == "the\n"
    assert rewrite(BOM + "the\n", BOM + "teh\n") == BOM + "the\n"  # exactly one BOM


def test_rewrite_keeps_leading_indentation_of_first_line() -> None:
    assert rewrite("    code block\n", "    cdoe block\n") == "    code block\n"


# --- conform_to_input: write -------------------------------------------------------------------------


def test_write_adds_single_final_newline_when_input_had_one() -> None:
    assert write("Summary.", "long text\n") == "Summary.\n"
    assert write("Summary.\n\n\n", "long text\n\n\n") == "Summary.\n"


def test_write_drops_final_newline_when_input_had_none() -> None:
    assert write("Summary.\n", "long text") == "Summary."


def test_write_does_not_copy_leading_blank_lines() -> None:
    assert write("Summary.\n", "\n\nlong text\n") == "Summary.\n"


def test_write_uses_input_line_endings() -> None:
    assert write("Line 1\nLine 2\n", "a\r\nb\r\n") == "Line 1\r\nLine 2\r\n"
    assert write("Line 1\r\nLine 2\r\n", "a\nb\n") == "Line 1\nLine 2\n"


def test_nul_after_the_first_64k_is_still_binary() -> None:
    with pytest.raises(InputRefused, match="looks binary"):
        decode_input(b"a" * 100_000 + b"\0")


def test_blank_only_original_is_not_doubled() -> None:
    assert conform_to_input("", "\n\n", rewrite=True) == "\n\n"


# --- line endings: every mix comes back byte for byte ------------------------------------------------

ENDINGS = ("\n", "\r\n", "\r")
# Characters str.splitlines() breaks at but Markdown (and so the model's view) does not.
NOT_BREAKS = ("\x0c", "\x0b", "\x85", "\u2028", "\u2029", "\x1c", "\x1d", "\x1e")
WORDS = ("alpha", "beta", "`code`", "[a link](https://example.com/x)", "teh", "# Heading", "- item", "")


# Lines that open or hold code and HTML blocks, alone or in a list item or quote.
BLOCK_LINES = ("```", "~~~ sh", "    indented()", "\tcode", "<div>", "> ```", "- ```", "  ```", "1. <p>", "---")


def _document(rng: random.Random, *, blocks: bool = False) -> str:
    lines = []
    for _ in range(rng.randint(1, 12)):
        words = [rng.choice(WORDS) for _ in range(rng.randint(0, 4))]
        if blocks and rng.random() < 0.4:
            words.insert(0, rng.choice(BLOCK_LINES))
        if rng.random() < 0.5:
            words.insert(rng.randint(0, len(words)), rng.choice(NOT_BREAKS))
        lines.append(" ".join(words) + rng.choice(ENDINGS))
    text = "".join(lines)
    if rng.random() < 0.3:
        text = text.rstrip("\r\n")  # no final newline
    if rng.random() < 0.3:
        text = rng.choice(ENDINGS) + text  # a leading blank line
    if rng.random() < 0.3:
        text = BOM + text
    return text


def _pipeline(text: str, reply_for: Callable[[str], str]) -> str:
    """What rewrite_document does with each chunk's reply, without a model."""
    prepared = prepare(text, protect_regions=True, chunk_tokens=20)
    parts = []
    for chunk in prepared.chunks:
        part = conform_to_input(reply_for(chunk), chunk, rewrite=True)
        unmask(part, restrict(prepared.masked, chunk))
        parts.append(part)
    return assemble(prepared, parts, text)


def _as_a_model_writes(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


@pytest.mark.parametrize("seed", range(300))
def test_an_unchanged_reply_gives_every_line_ending_mix_back_byte_for_byte(seed: int) -> None:
    text = _document(random.Random(seed), blocks=seed % 2 == 1)
    assert _pipeline(text, lambda chunk: chunk) == text
    assert _pipeline(text, _as_a_model_writes) == text  # models answer in LF
    assert conform_to_input(text, text, rewrite=True) == text
    assert conform_to_input(strip_bom(text), text, rewrite=True) == text


@pytest.mark.parametrize("seed", range(300))
def test_a_reply_with_one_word_changed_changes_only_that_word(seed: int) -> None:
    text = _document(random.Random(seed))
    if "teh" not in text:
        text += " teh"
    changed = []

    def fix_one_word(chunk: str) -> str:
        if changed or "teh" not in chunk:
            return _as_a_model_writes(chunk)
        changed.append(chunk)
        return _as_a_model_writes(chunk).replace("teh", "the", 1)

    fixed = _pipeline(text, fix_one_word)
    assert fixed == text.replace("teh", "the", 1)


@pytest.mark.parametrize(
    "text",
    ["a\rb\r", "one\r", "\r\rx\r\r", "a\r\nb\x0cc\nd\r\n", "a\nb\u2028c\r\nd\n", "a\r\n\x85b\n", "a\r\n\x0bb\rc"],
)
def test_conforming_is_idempotent(text: str) -> None:
    once = conform_to_input(text, text, rewrite=True)
    assert once == text
    assert conform_to_input(once, text, rewrite=True) == text  # CR-only text used to gain CRs: 1 -> 3 -> 9


def test_cr_only_text_keeps_cr_for_new_lines() -> None:
    assert rewrite("Fixed.\nNew line.\n", "Fixd.\r") == "Fixed.\rNew line.\r"


def test_a_second_bom_is_text_and_stays() -> None:
    assert rewrite(BOM + "x\n", BOM + BOM + "x\n") == BOM + BOM + "x\n"


def test_write_keeps_unusual_separators_inside_lines() -> None:
    assert write("a\x0cb\u2028c\n", "x\r\ny\r\n") == "a\x0cb\u2028c\r\n"


@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b"\r"])
def test_invalid_utf8_line_counts_every_kind_of_line_break(ending: bytes) -> None:
    with pytest.raises(InputRefused, match=r"line 3\)"):
        decode_input(ending.join([b"one", b"two", b"caf\xe9"]))


# --- through gpt-filter, a real process, as Vim runs it ---------------------------------------------

MIXES = [
    b"one\rteh two\r",
    b"a\r\nb\x0cc\nteh d\r\n",
    "a\r\nb\u2028c\nteh\r\n\r\n".encode(),
    "\ufeffx\x85y\r\nteh z".encode(),
    b"\r\n\x0bteh\rb\n",
]
MIX_IDS = ["cr-only", "crlf-lf-formfeed", "crlf-lf-u2028", "bom-nel-no-final-newline", "crlf-vt-cr-lf"]


@pytest.mark.parametrize("data", MIXES, ids=MIX_IDS)
def test_gpt_filter_run_again_and_again_changes_only_the_typo(api: FakeOpenAI, data: bytes) -> None:
    expected = data.replace(b"teh", b"the")
    out = data
    for _ in range(2):  # CR-only text used to gain CRs on every run: 1 -> 3 -> 9
        done = run_program("gpt-filter", "MarkdownLinter", stdin=out)
        assert (done.returncode, done.stdout) == (0, expected), done.stderr
        out = done.stdout


@pytest.mark.parametrize("data", MIXES, ids=MIX_IDS)
def test_gpt_filter_keeps_the_endings_when_the_model_answers_in_lf(api: FakeOpenAI, data: bytes) -> None:
    text = strip_bom(data.decode()).replace("teh", "the")
    api.script(Scripted(text=text.replace("\r\n", "\n").replace("\r", "\n")))
    done = run_program("gpt-filter", "MarkdownLinter", stdin=data)
    assert (done.returncode, done.stdout) == (0, data.replace(b"teh", b"the")), done.stderr


def test_mixed_line_endings_survive_where_lines_are_unchanged() -> None:
    assert conform_to_input("a the\nb\nc\nd\n", "a teh\r\nb\nc\nd\n", rewrite=True) == "a the\r\nb\nc\nd\n"


# --- golden fixtures: the input, the model's reply, and the reply conformed to the input's conventions ---

CONFORM = fixture_cases("textio/conform.md", 3)


@pytest.mark.parametrize(("title", "parts"), CONFORM, ids=[title for title, _ in CONFORM])
def test_conform_fixture(title: str, parts: list[str]) -> None:
    original, reply, expected = (visible(part) for part in parts)
    assert title.endswith(("(rewrite)", "(write)")), title
    assert conform_to_input(reply, original, rewrite=title.endswith("(rewrite)")) == expected
