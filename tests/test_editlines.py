"""The check-mode formatter: `path:line:col: reason: "find" → "replace"`, 1-based, columns in characters
(non-ASCII, tabs and astral characters one column each; CRLF and CR end lines), the fixed line under
each edit, refused edits with why, and exact edit counts."""

from __future__ import annotations

from gpt_tools.cli.editlines import applied_line, edit_lines, edits_summary, fixed_lines, quoted, refused_line
from gpt_tools.core.records import EditReport
from gpt_tools.markdown.edits import Edit, apply_edits


def _report(text: str, *edits: tuple[str, str], protected: tuple[tuple[int, int], ...] = ()) -> EditReport:
    result = apply_edits(text, [Edit(find=f, replace=r, reason="spelling") for f, r in edits], protected=protected)
    return EditReport(original=text, applied=result.applied, refused=result.refused)


def test_first_character_is_line_1_column_1() -> None:
    report = _report("teh start\n", ("teh", "the"))
    assert edit_lines("a.md", report) == ['a.md:1:1: spelling: "teh" → "the"', "    the start"]


def test_non_ascii_and_astral_characters_count_one_column_each() -> None:
    text = "# Tïtle\n\nÜber 😀 émoji teh end\n"
    report = _report(text, ("teh", "the"))
    # "Über 😀 émoji " is 13 characters (the emoji is 2 UTF-16 units and 4 UTF-8 bytes, but one column).
    assert applied_line("ü.md", text, report.applied[0]) == 'ü.md:3:14: spelling: "teh" → "the"'
    assert fixed_lines(text, report.applied) == ["Über 😀 émoji the end"]


def test_a_tab_is_one_column() -> None:
    text = "\t\tteh\n"
    assert edit_lines("t.md", _report(text, ("teh", "the")))[0] == 't.md:1:3: spelling: "teh" → "the"'


def test_crlf_and_cr_end_lines_and_the_fixed_line_has_no_line_break() -> None:
    text = "first\r\nsecond teh\r\nthird\rfourth teh\r\n"
    report = _report(text, ("second teh", "second the"), ("fourth teh", "fourth the"))
    assert edit_lines("w.md", report) == [
        'w.md:2:1: spelling: "second teh" → "second the"',
        "    second the",
        'w.md:4:1: spelling: "fourth teh" → "fourth the"',
        "    fourth the",
    ]


def test_fixed_line_shows_every_edit_on_it_and_later_lines_shift_correctly() -> None:
    text = "teh cat and teh dog\nthe end\nlast teh\n"
    edits = (("teh cat", "the cat"), ("teh dog", "the dog"), ("teh\n", "the\nadded line\n"))
    report = _report(text, *edits)
    assert [line for line in edit_lines("x.md", report) if not line.startswith("    ")] == [
        'x.md:1:1: spelling: "teh cat" → "the cat"',
        'x.md:1:13: spelling: "teh dog" → "the dog"',
        'x.md:3:6: spelling: "teh\\n" → "the\\nadded line\\n"',  # newlines quoted: still one line
    ]
    assert fixed_lines(text, report.applied) == ["the cat and the dog", "the cat and the dog", "last the"]


def test_refused_edits_say_why_with_a_place_when_found_and_the_file_when_not() -> None:
    text = "a teh b teh `c`\n"
    report = _report(text, ("teh", "the"), ("missing", "x"), ("b teh `c`", "b the `C`"), protected=((12, 15),))
    lines = edit_lines("r.md", report)
    assert lines[0].startswith('r.md: not applicable (ambiguous): "teh" → "the": ')
    assert lines[1].startswith('r.md: not applicable (not_found): "missing" → "x": ')
    assert lines[2].startswith('r.md:1:7: not applicable (protected): "b teh `c`" → "b the `C`": ')
    assert len(lines) == 3  # refused edits get no fixed line: nothing changes there


def test_refused_line_offers_the_closest_text() -> None:
    text = "You will recieve it.\n"
    report = _report(text, ("You will recieve itt.", "You will receive it."))
    refusal = report.refused[0]
    assert refusal.closest
    assert refused_line("c.md", text, refusal).endswith(f"(did you mean {quoted(refusal.closest)}?)")


def test_quotes_are_json_and_long_text_is_cut() -> None:
    assert quoted('say "hi"\tnow') == '"say \\"hi\\"\\tnow"'
    assert quoted("é" * 100) == '"' + "é" * 79 + '…"'


def test_a_long_fixed_line_is_cut_around_its_edit() -> None:
    text = "word " * 100 + "teh " + "more " * 100 + "\n"
    (shown,) = fixed_lines(text, _report(text, ("teh", "the")).applied)
    assert shown == "…" + ("word " * 100)[-40:] + "the " + ("more " * 100)[:116] + "…"
    assert fixed_lines("teh " + "x" * 300, _report("teh " + "x" * 300, ("teh", "the")).applied) == [
        "the " + "x" * 156 + "…"
    ]


def test_without_the_fixed_line() -> None:
    assert edit_lines("a.md", _report("teh\n", ("teh", "the")), with_fixed_line=False) == [
        'a.md:1:1: spelling: "teh" → "the"'
    ]


def test_edit_counts_are_exact_and_plural_where_needed() -> None:
    assert edits_summary(3, 2, 1) == "3 edits in 2 files; 1 not applicable"
    assert edits_summary(1, 1, 0) == "1 edit in 1 file"
    assert edits_summary(0, 0, 2) == "0 edits in 0 files; 2 not applicable"
