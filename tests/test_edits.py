"""The edit protocol's engine (gpt_tools.markdown.edits): parsing replies, locating and applying edits.

Golden cases live in fixtures/edits/cases.md (markdown-it's format, see tests/golden.py): a title, then
the document, the model's reply, the expected result and the expected refusals (`reason: find` lines).
"""

# ruff: noqa: RUF001  (curly quotes and dashes are what these tests are about)

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from gpt_tools.errors import ReplyRejected
from gpt_tools.markdown.edits import (
    EDIT_INSTRUCTIONS,
    EDITS_SCHEMA,
    SCHEMA_NAME,
    Edit,
    EditResult,
    apply_edits,
    edits_to_json,
    keep_structure,
    line_col,
    parse_edits,
    protected_spans,
    utf16_position,
)
from tests.golden import fixture_cases, visible

CASES = fixture_cases("edits/cases.md", 4)


def edit(find: str, replace: str, reason: str = "fix") -> Edit:
    return Edit(find=find, replace=replace, reason=reason)


@pytest.mark.parametrize(("title", "parts"), CASES, ids=[title for title, _ in CASES])
def test_golden_case(title: str, parts: list[str]) -> None:
    document, reply, expected, refusals = (visible(part) for part in parts)
    result = apply_edits(document, parse_edits(reply))
    assert result.text == expected
    assert [f"{r.reason}: {r.edit.find}" for r in result.refused] == refusals.splitlines()
    assert len(result.applied) + len(result.refused) == len(parse_edits(reply))


# --- parse_edits: strict -----------------------------------------------------------------------------


def test_parse_accepts_the_schema_shape_and_an_empty_list() -> None:
    reply = json.dumps({"edits": [{"find": "a", "replace": "b", "reason": "c"}]})
    assert parse_edits(reply) == [edit("a", "b", "c")]
    assert parse_edits('{"edits": []}') == []


def test_parse_takes_raw_control_characters_inside_strings_as_the_text_they_are() -> None:
    """llama-cpp-python's schema grammar lets a literal newline or tab into a JSON string (strict JSON
    forbids it): the edit is the text those characters spell, not a rejected reply."""
    reply = '{"edits": [{"find": "}]\n```\tx", "replace": "a\x01b", "reason": "r\r"}]}'
    assert parse_edits(reply) == [edit("}]\n```\tx", "a\x01b", "r\r")]


@pytest.mark.parametrize(
    "reply",
    [
        "",
        "not json",
        "{'edits': []}",
        '{"edits": [],}',
        '{"edits": [] /* none */}',
        '{"edits": ["\\q"]}',
        "[]",
        "null",
        '{"edits": {}}',
        '{"edits": [], "extra": 1}',
        '{"changes": []}',
        '{"edits": [{"find": "a", "replace": "b"}]}',
        '{"edits": [{"find": "a", "replace": "b", "reason": "c", "why": "d"}]}',
        '{"edits": [{"find": 1, "replace": "b", "reason": "c"}]}',
        '{"edits": [{"find": "a", "replace": null, "reason": "c"}]}',
        '{"edits": ["a"]}',
        '{"edits": [], "edits": []}',
        '```json\n{"edits": []}\n```',
        '{"edits": []} trailing',
        '{"edits": [NaN]}',
        "[" * 100_000 + "]" * 100_000,
    ],
)
def test_parse_refuses_anything_else(reply: str) -> None:
    with pytest.raises(ReplyRejected):
        parse_edits(reply)


def test_schema_is_openai_strict_mode_valid() -> None:
    assert SCHEMA_NAME == "edits"

    def check(node: dict[str, Any]) -> None:
        if node.get("type") == "object":
            assert node["additionalProperties"] is False
            assert sorted(node["required"]) == sorted(node["properties"])
            for child in node["properties"].values():
                check(child)
        if node.get("type") == "array":
            check(node["items"])

    check(EDITS_SCHEMA)
    assert EDITS_SCHEMA["properties"]["edits"]["items"]["required"] == ["find", "replace", "reason"]
    json.dumps(EDITS_SCHEMA)  # serialisable as a request body


def test_instructions_state_the_protocol() -> None:
    for phrase in ('"find"', '"replace"', '"reason"', "exactly once", '{"edits": []}', "code", "URL"):
        assert phrase in EDIT_INSTRUCTIONS


# --- locating ----------------------------------------------------------------------------------------


def test_ambiguous_says_where_and_missing_offers_the_closest_text() -> None:
    text = "alpha beta\ngamma beta\ndelta\nThe quick brown fox jumps over the lazy dog.\n"
    result = apply_edits(text, [edit("beta", "BETA"), edit("The quikc brown fox jumsp", "x")])
    ambiguous, missing = result.refused
    assert (ambiguous.reason, ambiguous.detail) == ("ambiguous", "matches 2 places (lines 1, 2)")
    assert missing.reason == "not_found"
    assert missing.closest is not None and missing.closest.startswith("The quick brown fox jump")
    assert result.text == text


def test_missing_with_nothing_alike_has_no_closest() -> None:
    result = apply_edits("Some prose here.\n", [edit("zzzzqqqq xxxx", "y")])
    assert result.refused[0].reason == "not_found"
    assert result.refused[0].closest is None


def test_loose_match_keeps_the_original_spacing_and_quotes_it_did_not_change() -> None:
    text = "He wrote:\n“Its  a\n   test” – she said.\n"
    result = apply_edits(text, [edit('"Its a test" - she', '"It\'s a test" - she', "apostrophe")])
    (placed,) = result.applied
    assert placed.match == "loose"
    assert result.text == "He wrote:\n“It's  a\n   test” – she said.\n"


def test_loose_whitespace_fix_is_kept() -> None:
    # The model collapses a double space in a span it also matched loosely (curly quote): both changes stay.
    result = apply_edits("a ‘b’  c d\n", [edit("'b'  c", "'b' c")])
    assert result.text == "a ‘b’ c d\n"


def test_crlf_document_loose_match_and_crlf_replacement() -> None:
    text = "one\r\ntwo  three\r\nfour\r\n"
    result = apply_edits(text, [edit("two three\nfour", "two, three\nfour\nfive")])
    assert result.applied[0].match == "loose"
    # The double space the model retyped as one is kept (it did not change that part); new breaks are CRLF.
    assert result.text == "one\r\ntwo,  three\r\nfour\r\nfive\r\n"


def test_exact_match_in_crlf_document_gets_crlf_line_breaks() -> None:
    result = apply_edits("a\r\nb\r\n", [edit("b", "b\nc")])
    assert result.text == "a\r\nb\r\nc\r\n"


def test_bom_cannot_be_edited_and_stays() -> None:
    text = "\ufeffword word2\n"
    result = apply_edits(text, [edit("\ufeffword ", "x ")])
    assert result.refused[0].reason == "protected"
    assert apply_edits(text, [edit("word2", "w2")]).text == "\ufeffword w2\n"


def test_a_loose_edit_that_changes_only_quote_style_is_a_no_op() -> None:
    result = apply_edits("“quoted” words\n", [edit('"quoted" words', "“quoted” words")])
    assert [r.reason for r in result.refused] == ["no_op"]


def test_edits_refused_for_another_reason_take_no_part_in_overlaps() -> None:
    result = apply_edits("Use `cod` here now.\n", [edit("`cod` here", "`code` here"), edit("here now", "here, now")])
    assert result.text == "Use `cod` here, now.\n"
    assert [r.reason for r in result.refused] == ["protected"]


def test_many_edits_at_once_apply_in_document_order() -> None:
    words = [f"word{i:03d}" for i in range(300)]
    text = " ".join(words) + "\n"
    edits = [edit(w, w.upper()) for w in reversed(words)]  # the reply's order is not the document's
    result = apply_edits(text, edits)
    assert result.text == " ".join(w.upper() for w in words) + "\n"
    assert [p.start for p in result.applied] == sorted(p.start for p in result.applied)
    assert not result.refused


# --- protection --------------------------------------------------------------------------------------

PROTECTED = {
    "front matter": ("---\ntitle: teh\n---\nProse.\n", "title: teh"),
    "fenced code": ("Prose.\n\n```py\nteh = 1\n```\n", "teh = 1"),
    "tilde fence": ("Prose.\n\n~~~\nteh\n~~~\n", "teh"),
    "indented code": ("Prose.\n\n    teh code\n", "teh code"),
    "HTML block": ("<div>\nteh block\n</div>\n\nProse.\n", "teh block"),
    "inline code": ("Call `teh()` now.\n", "teh()"),
    "link URL": ("A [link](https://teh.example/x) here.\n", "teh.example"),
    "image URL": ("An ![image](teh.png) here.\n", "teh.png"),
    "autolink": ("Mail <https://teh.example> now.\n", "teh.example"),
    "bare URL": ("See https://teh.example/page for more.\n", "teh.example"),
    "HTML tag": ('A <span title="teh">tag</span> here.\n', 'title="teh"'),
    "reference definition": ("A [ref][1] link.\n\n[1]: https://teh.example\n", "teh.example"),
    "HTML comment": ("Text <!-- teh note --> more.\n", "teh note"),
}


@pytest.mark.parametrize(("text", "find"), PROTECTED.values(), ids=PROTECTED.keys())
def test_an_edit_touching_a_protected_region_is_refused(text: str, find: str) -> None:
    assert text.count(find) == 1
    start = text.index(find)
    assert any(s <= start < e for s, e in protected_spans(text))
    result = apply_edits(text, [edit(find, find.replace("teh", "the"))])
    assert result.text == text
    assert [(r.reason, r.start) for r in result.refused] == [("protected", start)]
    # With nothing protected, the same edit applies: the refusal came from protection alone.
    assert apply_edits(text, [edit(find, find.replace("teh", "the"))], protected=()).text != text


def test_prose_right_next_to_code_can_be_edited() -> None:
    text = "Teh `code` teh.\n"
    result = apply_edits(text, [edit("Teh ", "The "), edit(" teh.", " the.")])
    assert result.text == "The `code` the.\n"


def test_a_document_with_every_marker_pair_still_gets_its_regions() -> None:
    text = "⟦⟧ ⟪⟫ 〚〛 ⦃⦄ and `code` here.\n"
    spans = protected_spans(text)
    assert [text[s:e] for s, e in spans] == ["`code`"]


# --- positions and --json ----------------------------------------------------------------------------


def test_line_col_counts_every_line_break_kind() -> None:
    text = "ab\ncd\r\nef\rgh"
    assert line_col(text, 0) == (1, 1)
    assert line_col(text, text.index("d")) == (2, 2)
    assert line_col(text, text.index("f")) == (3, 2)
    assert line_col(text, text.index("h")) == (4, 2)
    assert line_col(text, len(text)) == (4, 3)


def test_utf16_position_counts_surrogate_pairs() -> None:
    text = "x\n😀é🎉 target"
    offset = text.index("target")
    assert utf16_position(text, offset) == (1, 2 + 1 + 2 + 1)
    assert utf16_position(text, 0) == (0, 0)
    assert utf16_position("a\r\nb", 3) == (1, 0)


def test_edits_to_json_lists_applied_and_refused_with_positions() -> None:
    text = "one\ntwo teh\nteh\n"
    result = apply_edits(text, [edit("two teh", "two the", "spelling"), edit("teh", "the"), edit("zzz", "y")])
    entries = edits_to_json(result, text)
    assert entries[0] == {
        "find": "two teh",
        "replace": "two the",
        "reason": "spelling",
        "start": 4,
        "end": 11,
        "line": 2,
        "column": 1,
        "end_line": 2,
        "end_column": 8,
        "status": "applied",
        "match": "exact",
        "new_text": "two the",
    }
    assert [(e["status"], e.get("refusal")) for e in entries] == [
        ("applied", None),
        ("refused", "ambiguous"),
        ("refused", "not_found"),
    ]
    json.dumps(entries)


# --- hostile replies and random documents ------------------------------------------------------------


@pytest.mark.timeout(60)
def test_an_adversarial_reply_finishes_and_changes_only_what_it_may() -> None:
    paragraph = "Some words of prose with `code {i}` and a [link](https://example.com/{i}) in it, unique{i}.\n\n"
    text = "".join(paragraph.format(i=i) for i in range(400))  # ~40 KB
    edits = [edit("x" * 2_000_000, "y")]  # a huge find
    edits += [edit("words", "WORDS")] * 3000  # the same ambiguous find, again and again
    edits += [edit(f"missing phrase {i} of {i * 7}", "z") for i in range(3000)]  # distinct missing finds
    edits += [edit(f"unique{i}.", f"Unique{i}.") for i in range(400)]  # the valid ones
    edits += [edit(f"code {i}", "CODE") for i in range(400)]  # protected
    edits += [edit("", "everywhere")] * 1000
    edits += [edit(f"it, unique{i}.", "it; unique.") for i in range(0, 400, 2)]  # overlapping valid ones
    edits += [edit("o" * 5000 + f"{i}", "p") for i in range(1000)]  # long missing finds: no closest work
    edits += [edit(f"prose {i}", f"prose {i}") for i in range(1000)]  # no-ops
    assert len(edits) > 10_000
    result = apply_edits(text, edits)
    assert len(result.applied) + len(result.refused) == len(edits)
    assert len(result.applied) == 200  # unique{i} for odd i; even ones overlap and are refused
    expected = "".join(
        paragraph.format(i=i).replace(f"unique{i}.", f"Unique{i}." if i % 2 else f"unique{i}.") for i in range(400)
    )
    assert result.text == expected


def _random_document(rng: random.Random, newline: str) -> str:
    vocabulary = ["alpha", "beta", "gamma", "δέλτα", "😀", "e\u0301", "“q”", "--", "  ", "\t", "x"]
    lines = []
    for number in range(rng.randint(1, 30)):
        words = [rng.choice(vocabulary) for _ in range(rng.randint(0, 12))]
        lines.append(" ".join(words) + f" n{number}")
    return newline.join(lines) + rng.choice(["", newline])


def _random_edits(rng: random.Random, text: str) -> tuple[list[Edit], str]:
    """Non-overlapping edits whose finds occur exactly once, and the text they should give."""
    chosen: list[tuple[int, int, str]] = []
    for _ in range(rng.randint(0, 15)):
        start = rng.randrange(len(text))
        end = min(len(text), start + rng.randint(1, 12))
        find = text[start:end]
        unique = text.find(find) == start and text.find(find, start + 1) < 0
        free = all(end <= s or start >= e for s, e, _ in chosen)
        replace = rng.choice(["", "Z", "new words", "ü😀", find.upper()])
        if unique and free and replace != find and "\r" not in find and "\n" not in replace:
            chosen.append((start, end, replace))
    chosen.sort()
    expected, cursor = [], 0
    for start, end, replace in chosen:
        expected += [text[cursor:start], replace]
        cursor = end
    expected.append(text[cursor:])
    edits = [edit(text[s:e], r) for s, e, r in chosen]
    rng.shuffle(edits)
    return edits, "".join(expected)


@pytest.mark.parametrize("seed", range(150))
def test_random_valid_edits_apply_exactly(seed: int) -> None:
    rng = random.Random(seed)
    text = _random_document(rng, rng.choice(["\n", "\r\n", "\r"]))
    if rng.random() < 0.2:
        text = "\ufeff" + text if rng.random() < 0.5 else text
    edits, expected = _random_edits(rng, text.removeprefix("\ufeff"))
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    result = apply_edits(text, edits, protected=())
    assert result.refused == ()
    assert result.text == bom + expected
    # Untouched regions are byte-identical: the text between applied spans is the original's.
    cursor, out = 0, 0
    for placed in result.applied:
        gap = text[cursor : placed.start]
        assert result.text[out : out + len(gap)] == gap
        out += len(gap) + len(placed.new_text)
        cursor = placed.end
    assert result.text[out:] == text[cursor:]


def test_a_loose_space_never_stands_for_a_paragraph_break() -> None:
    text = "End of “one”\n\nStart of two.\n"
    result = apply_edits(text, [edit('of "one" Start', 'of "one"Start')])
    assert [r.reason for r in result.refused] == ["not_found"]
    # Across a single line break (re-wrapped prose), the loose match holds, and the break is kept.
    text = "End of “one”\nstill one.\n"
    assert apply_edits(text, [edit('"one" still', '"one" yet')]).text == "End of “one”\nyet one.\n"
    # A find that spells the blank line out matches it.
    text = "End of “one”\n \nStart.\n"
    assert apply_edits(text, [edit('"one"\n\nStart', '"one"\n\nBegin')]).text == "End of “one”\n \nBegin.\n"


def test_an_edit_that_would_open_a_fence_before_code_is_refused() -> None:
    text = "Intro teh.\n\nMore prose.\n\n```\ncode\n```\n\nEnd teh.\n"
    result = apply_edits(text, [edit("Intro teh.", "Intro the.\n\n```"), edit("End teh.", "End the.")])
    assert result.text == "Intro teh.\n\nMore prose.\n\n```\ncode\n```\n\nEnd the.\n"
    assert [(r.reason, r.edit.find) for r in result.refused] == [("protected", "Intro teh.")]


def test_deleting_the_blank_line_before_indented_code_is_refused() -> None:
    text = "A paragraph ends here.\n\n    indented code\n"
    result = apply_edits(text, [edit("ends here.\n\n", "ends here.\n")])
    assert [r.reason for r in result.refused] == ["protected"]
    assert result.text == text


def test_a_linter_may_put_prose_in_backticks() -> None:
    text = "Run npm install first, then `npm test`.\n"
    result = apply_edits(text, [edit("Run npm install", "Run `npm install`")])
    assert result.text == "Run `npm install` first, then `npm test`.\n"


def test_one_structure_breaker_among_many_edits_is_the_only_one_refused() -> None:
    text = "".join(f"Line {i} has teh typo.\n\n" for i in range(40)) + "    indented code\n"
    edits = [edit(f"Line {i} has teh", f"Line {i} has the") for i in range(40)]
    edits.append(edit("Line 39 has teh typo.\n\n", "Line 39 has teh typo.\n"))  # overlaps edit 39 too
    edits[20] = edit("Line 20 has teh", "```\nLine 20 has the")  # a fence to the end
    result = apply_edits(text, edits)
    refused = {(r.reason, r.edit.find) for r in result.refused}
    assert refused == {
        ("protected", "Line 20 has teh"),
        ("overlap", "Line 39 has teh"),
        ("overlap", "Line 39 has teh typo.\n\n"),
    }
    assert result.text.count("has the typo") == 38
    assert result.text.endswith("Line 39 has teh typo.\n\n    indented code\n")


def test_given_spans_are_protected_and_structure_is_still_checked() -> None:
    text = "Intro teh.\n\nCall `teh()` now.\n\n```\ncode\n```\n"
    spans = protected_spans(text)
    result = apply_edits(text, [edit("`teh()`", "`the()`"), edit("Intro teh.", "Intro the.\n\n```")], protected=spans)
    assert [r.reason for r in result.refused] == ["protected", "protected"]
    assert result.refused[0].detail == "it touches inline code (line 3)"  # named by kind, though given as spans
    assert result.text == text
    # Empty spans: nothing is protected, nothing checked.
    assert apply_edits(text, [edit("Intro teh.", "Intro the.\n\n```")], protected=[]).applied


def test_keep_structure_rechecks_a_result_put_together_from_chunks() -> None:
    first, second = "Prose teh.\n\n", "```\ncode\n```\n"
    chunk = apply_edits(first, [edit("Prose teh.", "Prose the.\n\n```")], protected=[])  # chunk alone: fine
    assert chunk.applied
    whole = EditResult(text=chunk.text + second, applied=chunk.applied, refused=())
    checked = keep_structure(first + second, whole)
    assert checked.text == first + second
    assert [r.reason for r in checked.refused] == ["protected"]
    assert checked.applied == ()
    assert keep_structure("Just prose.\n", apply_edits("Just prose.\n", [edit("Just", "Only")])).text == "Only prose.\n"


def test_several_structure_breakers_are_each_found() -> None:
    text = "".join(f"Para {i} teh `c{i}`.\n\n" for i in range(60))
    edits = [edit(f"Para {i} teh", f"Para {i} the") for i in range(60)]
    for i in (5, 30, 55):
        edits[i] = edit(f"Para {i} teh", f"Para {i} the\n\n```\n")
    result = apply_edits(text, edits)
    assert sorted(r.edit.find for r in result.refused) == ["Para 30 teh", "Para 5 teh", "Para 55 teh"]
    assert len(result.applied) == 57


# --- an edit may fix text, never add prose of its own ------------------------------------------------

INVENTING = [
    ("Second para.", "Second para. (I corrected one typo.)"),
    ("See the docs", "See the docs. They explain more."),
    ("This is teh end", "This is the end: thanks for reading it"),
    ("a b", "a b\n\nA new paragraph here."),
    ("teh word", "the word " + " ".join(["and"] * 12)),
]
FIXING = [
    ("teh cat sat", "The cat sat."),
    ("I went home I slept", "I went home; then I slept."),
    ("Hello world how are you", "Hello, world. How are you?"),
    ("He go to school", "He goes to school"),
    ("dont", "don't"),
    ("in order to", "to"),
]


@pytest.mark.parametrize(("find", "replace"), INVENTING)
def test_an_edit_adding_prose_of_its_own_is_refused(find: str, replace: str) -> None:
    document = f"Intro.\n\n{find}\n\nOutro.\n"
    result = apply_edits(document, [Edit(find=find, replace=replace, reason="fix")])
    assert result.text == document
    assert [refused.reason for refused in result.refused] == ["invents"]


@pytest.mark.parametrize(("find", "replace"), FIXING)
def test_an_edit_fixing_a_sentence_is_applied(find: str, replace: str) -> None:
    document = f"Intro.\n\n{find}\n\nOutro.\n"
    result = apply_edits(document, [Edit(find=find, replace=replace, reason="fix")])
    assert result.text == document.replace(find, replace)
    assert result.refused == ()


def test_a_blank_line_a_markdown_fix_needs_is_not_prose() -> None:
    document = "Intro:\n- one\n- two\n"
    result = apply_edits(document, [Edit(find="Intro:\n- one", replace="Intro:\n\n- one", reason="blank line")])
    assert result.text == "Intro:\n\n- one\n- two\n"
    assert result.refused == ()


def test_an_edit_inside_an_opt_out_region_is_refused_as_protected() -> None:
    text = "Fix teh one.\r\n\r\n<!-- gpt-tools: off -->\r\nKeep teh two.\r\n<!-- gpt-tools: on -->\r\n"
    edits = [
        Edit(find="teh one", replace="the one", reason="spelling"),
        Edit(find="teh two", replace="the two", reason="spelling"),
        Edit(find="gpt-tools: off", replace="gpt-tools: on", reason="typo"),
    ]
    result = apply_edits(text, edits)
    assert result.text == text.replace("teh one", "the one")
    assert [(r.reason, r.detail) for r in result.refused] == [
        ("protected", "it touches an opt-out region (<!-- gpt-tools: off -->) (line 3)"),
    ] * 2


def test_opt_out_regions_are_protected_even_with_protection_off() -> None:
    from gpt_tools.markdown.edit_guard import opt_out_spans

    text = "`teh` code\n\n<!-- gpt-tools: off -->\nteh\n"
    spans = opt_out_spans(text)
    assert [text[start:end] for start, end in spans] == ["<!-- gpt-tools: off -->\nteh"]
    edits = [Edit(find="`teh`", replace="`the`", reason="x"), Edit(find="teh\n", replace="the\n", reason="x")]
    result = apply_edits(text, edits, protected=spans)
    assert result.text == text.replace("`teh`", "`the`")
    assert [r.reason for r in result.refused] == ["protected"]
