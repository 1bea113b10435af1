"""Guards: secrets never leave the machine (nor appear in messages), and only a clean, complete reply is used."""

from __future__ import annotations

from pathlib import Path

import pytest

import gpt_tools
from gpt_tools.cli.hook import main as hook_main
from gpt_tools.core.guards import (
    SecretFinding,
    check_reply,
    estimate_tokens,
    find_secrets,
    refuse_secrets,
    scannable_text,
    strip_citations,
    unwrap_outer_fence,
)
from gpt_tools.errors import InputRefused, ReplyRejected
from tests.conftest import run_program
from tests.fake_openai import FakeOpenAI
from tests.scripted_backend import ScriptedBackend

# Fake credentials with the right shapes (built from parts so no scanner mistakes this file for a leak).
OPENAI_KEY = "sk-" + "proj-" + "Q7wErT9yUi2oPa4sDf6gHj8kLz1xCv3bNm5"
OPENAI_LEGACY = "sk-" + "T3BlbkFJq8Zr2mXw5Yn7Vb4Lc9Kd1Gf6Hs3J"
AWS_ID = "AKIA" + "Q3ZT7WLMNB4XRVPK"
AWS_TEMP_ID = "ASIA" + "Z8YX7WVU6TSR5QPN"
AWS_SECRET = "Zq8" + "rT2vLm9XwP4kN7bC1dF5gH3jK6sA0eYu2iOpQ"
assert len(AWS_SECRET) == 40
GITHUB_TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
GITHUB_PAT = "github_pat_" + "11ABCDEFG0a1b2c3d4e5f6_g7h8i9j0k1l2m3n4o5p6q7r8s9t0u1v2w3x4y5z6"
SLACK_TOKEN = "xoxb-" + "1234567890-0987654321-aBcDeFgHiJkLmNoP"
PRIVATE_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----"

KINDS = {
    "private key": (PRIVATE_KEY, "a private key block"),
    "openai project key": (OPENAI_KEY, "an OpenAI-style API key (sk-…)"),
    "openai legacy key": (OPENAI_LEGACY, "an OpenAI-style API key (sk-…)"),
    "aws id": (AWS_ID, "an AWS access key ID"),
    "aws temporary id": (AWS_TEMP_ID, "an AWS access key ID"),
    "aws secret": (f"aws_secret_access_key={AWS_SECRET}", "an AWS secret access key"),
    "aws secret spaced quoted": (f'AWS_SECRET_ACCESS_KEY = "{AWS_SECRET}"', "an AWS secret access key"),
    "github token": (GITHUB_TOKEN, "a GitHub token"),
    "github fine-grained pat": (GITHUB_PAT, "a GitHub token"),
    "slack token": (SLACK_TOKEN, "a Slack token"),
}


# --- find_secrets ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("secret", "kind"), list(KINDS.values()), ids=list(KINDS))
def test_each_kind_found_on_its_line(secret: str, kind: str) -> None:
    text = f"# Setup\n\nSome prose.\n\n    {secret}\n\nMore prose.\n"
    assert find_secrets(text, "notes.md") == [SecretFinding("notes.md", 5, kind)]


@pytest.mark.parametrize(
    "header",
    [
        "-----BEGIN PRIVATE KEY-----",
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "-----BEGIN EC PRIVATE KEY-----",
        "-----BEGIN ENCRYPTED PRIVATE KEY-----",
        "-----BEGIN PGP PRIVATE KEY BLOCK-----",
    ],
)
def test_private_key_headers(header: str) -> None:
    assert [f.kind for f in find_secrets(f"key:\n{header}\n")] == ["a private key block"]


def test_public_key_and_certificate_are_not_secrets() -> None:
    text = "-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----\n-----BEGIN CERTIFICATE-----\nMIIB\n"
    assert find_secrets(text) == []


def test_several_findings_sorted_by_line_with_default_source() -> None:
    text = f"{SLACK_TOKEN}\nfine\n{AWS_ID} and {GITHUB_TOKEN}\n"
    findings = find_secrets(text)
    assert [(f.source, f.line) for f in findings] == [("input", 1), ("input", 3), ("input", 3)]
    assert {f.kind for f in findings} == {"a Slack token", "an AWS access key ID", "a GitHub token"}


@pytest.mark.parametrize(
    "placeholder",
    [
        "AKIAIOSFODNN7EXAMPLE",
        "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "sk-proj-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "ghp_000000000000000000000000000000000000",
        "xoxb-your-token-here-example-1234567890",
    ],
)
def test_documentation_placeholders_are_not_findings(placeholder: str) -> None:
    assert find_secrets(f"export KEY={placeholder}\n") == []


@pytest.mark.parametrize(
    "near_miss",
    [
        "sk-short123",  # too short for a key
        "task-Q7wErT9yUi2oPa4sDf6gHj8kLz1xCv3bNm5",  # 'sk-' inside a word
        "AKIA" + "Q3ZT7WLMNB4XRVP",  # 15 characters, not 16
        "ghp_" + "a1B2c3D4e5",  # too short
        "plain prose about keys and tokens",
    ],
)
def test_near_misses_are_not_findings(near_miss: str) -> None:
    assert find_secrets(near_miss) == []


@pytest.mark.parametrize("last", ["/", "+"])
def test_aws_secret_ending_in_slash_or_plus_is_found(last: str) -> None:
    secret = AWS_SECRET[:-1] + last
    assert len(secret) == 40
    findings = find_secrets(f"aws_secret_access_key = {secret}\n")
    assert [f.kind for f in findings] == ["an AWS secret access key"]


# --- refuse_secrets ----------------------------------------------------------------------------------


ALL_SECRETS = [secret for secret, _ in KINDS.values()]


@pytest.mark.parametrize("secret", ALL_SECRETS, ids=list(KINDS))
def test_refusal_names_source_and_line_but_never_the_secret(secret: str) -> None:
    with pytest.raises(InputRefused) as caught:
        refuse_secrets({"README.md": "intro\n\n" + secret + "\n"})
    message = str(caught.value)
    assert "README.md, line 3" in message
    assert "--allow-secrets" in message
    for line in secret.splitlines():
        assert line not in message
    # Not even a recognisable fragment of the secret value is echoed.
    tail = secret.splitlines()[0][-12:]
    assert tail not in message
    assert caught.value.exit_code == 2


def test_refusal_lists_every_source() -> None:
    with pytest.raises(InputRefused) as caught:
        refuse_secrets({"a.md": "clean\n", "b.env": f"x\n{AWS_ID}\n", "c.txt": SLACK_TOKEN})
    message = str(caught.value)
    assert "b.env, line 2" in message
    assert "c.txt, line 1" in message
    assert "a.md" not in message


def test_refusal_caps_the_list_and_counts_the_rest() -> None:
    text = "\n".join([AWS_ID] * 8)
    with pytest.raises(InputRefused) as caught:
        refuse_secrets({"keys.txt": text})
    message = str(caught.value)
    assert "keys.txt, line 5" in message
    assert "keys.txt, line 6" not in message
    assert "(and 3 more)" in message
    assert AWS_ID not in message


def test_clean_input_passes() -> None:
    assert refuse_secrets({"doc.md": "# Title\n\nUse AKIAIOSFODNN7EXAMPLE in examples.\n", "empty": ""}) is None


# --- estimate_tokens ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "a", "hello world", "x" * 1000, "ü" * 999, "word " * 4001])
def test_estimate_tokens_is_generous(text: str) -> None:
    estimate = estimate_tokens(text)
    assert estimate >= 1
    assert estimate >= len(text) / 4
    assert estimate >= len(text) / 3


# --- unwrap_outer_fence ------------------------------------------------------------------------------


DOC = "# Title\n\nSome *text*.\n\n- item\n"


@pytest.mark.parametrize(
    ("opening", "closing"),
    [
        ("```markdown", "```"),
        ("```md", "```"),
        ("```", "```"),
        ("~~~", "~~~"),
        ("~~~markdown", "~~~"),
        ("````markdown", "````"),
        ("``` markdown", "```"),
    ],
)
def test_wrapped_document_is_unwrapped(opening: str, closing: str) -> None:
    reply = f"{opening}\n{DOC}{closing}\n"
    assert unwrap_outer_fence(reply, DOC) == DOC


def test_wrapper_with_surrounding_blank_lines_is_unwrapped() -> None:
    assert unwrap_outer_fence(f"\n\n```markdown\n{DOC}```\n\n", DOC) == DOC


def test_wrapper_closed_with_longer_fence_is_unwrapped() -> None:
    assert unwrap_outer_fence(f"```markdown\n{DOC}`````\n", DOC) == DOC


def test_markdown_wrapper_around_doc_with_inner_code_blocks_keeps_them() -> None:
    inner = "# Usage\n\n```python\nprint('hi')\n```\n\nThen:\n\n```bash\nrun it\n```\n\nDone.\n"
    assert unwrap_outer_fence(f"```markdown\n{inner}```\n", inner) == inner


def test_single_code_block_in_other_language_is_unwrapped() -> None:
    assert unwrap_outer_fence("```python\nx = 1\n```\n", "make x one") == "x = 1\n"


def test_unwrapped_reply_is_untouched() -> None:
    assert unwrap_outer_fence(DOC, DOC) == DOC


def test_two_separate_code_blocks_are_not_changed() -> None:
    reply = "```\na\n```\n\ntext\n\n```\nb\n```"
    assert unwrap_outer_fence(reply, "write two blocks") == reply


def test_two_separate_python_blocks_are_not_changed() -> None:
    reply = "```python\na = 1\n```\n\ntext\n\n```python\nb = 2\n```\n"
    assert unwrap_outer_fence(reply, "write two blocks") == reply


@pytest.mark.parametrize("original", ["```\ncode\n```\n", "  ~~~markdown\n# t\n~~~\n"])
def test_input_that_starts_with_a_fence_leaves_reply_untouched(original: str) -> None:
    reply = "```markdown\n# Fixed\n```\n"
    assert unwrap_outer_fence(reply, original) == reply


@pytest.mark.parametrize(
    "reply",
    [
        "```markdown\n# Title\n\ntext\n",  # never closed
        "```markdown\n# Title\n\ntext\n~~~\n",  # closed by the other fence character
        "````markdown\n# Title\n```\n",  # closing fence shorter than the opening
        "```\n",  # a lone fence
        "```markdown\n# Title\n```\ntrailing text\n",  # text after the closing fence
    ],
)
def test_not_a_complete_wrapper_is_untouched(reply: str) -> None:
    assert unwrap_outer_fence(reply, "# Title\n") == reply


# --- strip_citations ---------------------------------------------------------------------------------


def test_file_search_citations_are_removed() -> None:
    reply = "Use the flag【4:0†file.md】 to enable it.【12:3†docs/guide.md】\n"
    assert strip_citations(reply, "question") == "Use the flag to enable it.\n"


def test_private_use_citations_are_removed() -> None:
    reply = "Fact one.\ue200cite\ue202turn0file1\ue201 Fact two.\n"
    assert strip_citations(reply, "question") == "Fact one. Fact two.\n"


def test_citations_kept_when_input_had_them() -> None:
    original = "Quoted output: see【1:0†a.md】\n"
    reply = "Quoted output: see【1:0†a.md】 and【2:0†b.md】\n"
    assert strip_citations(reply, original) == reply


def test_private_use_citations_kept_when_input_had_them() -> None:
    original = "raw \ue200cite\ue201 marker\n"
    reply = "raw \ue200cite\ue201 marker, also \ue200cite\ue202x\ue201\n"
    assert strip_citations(reply, original) == reply


def test_each_citation_style_judged_on_its_own() -> None:
    original = "has【1:0†a.md】 only\n"
    reply = "has【1:0†a.md】 and \ue200cite\ue202x\ue201 both\n"
    assert strip_citations(reply, original) == "has【1:0†a.md】 and  both\n"


def test_lenticular_brackets_without_dagger_are_kept() -> None:
    reply = "Chinese quote 【注意】 stays.\n"
    assert strip_citations(reply, "x") == reply


# --- check_reply -------------------------------------------------------------------------------------


def test_incomplete_reply_rejected_with_reason() -> None:
    with pytest.raises(ReplyRejected) as caught:
        check_reply("partial", status="incomplete", reason="max_output_tokens", original="doc")
    message = str(caught.value)
    assert "incomplete" in message
    assert "max_output_tokens" in message
    assert "nothing was applied" in message
    assert caught.value.exit_code == 1


@pytest.mark.parametrize("status", ["cut", "failed", "in_progress", "cancelled"])
def test_unfinished_statuses_rejected(status: str) -> None:
    with pytest.raises(ReplyRejected, match=f"status {status}"):
        check_reply("# Full looking document\n", status=status, reason=None, original="doc")


@pytest.mark.parametrize("reply", ["", "   ", "\n\n", " \t\n", "```markdown\n```\n"])
def test_empty_reply_to_nonempty_input_rejected(reply: str) -> None:
    with pytest.raises(ReplyRejected, match="empty reply"):
        check_reply(reply, status="completed", reason=None, original="# Doc\n")


def test_empty_reply_to_blank_input_is_accepted() -> None:
    assert check_reply("", status="completed", reason=None, original="\n") == ""


def test_completed_reply_is_cleaned() -> None:
    reply = "```markdown\n# Doc\n\nFixed text.【3:1†src.md】\n```\n"
    assert check_reply(reply, status="completed", reason=None, original="# Doc\n\nFixd text.\n") == (
        "# Doc\n\nFixed text.\n"
    )


def test_completed_plain_reply_returned_as_is() -> None:
    reply = "# Doc\n\nFixed text.\n"
    assert check_reply(reply, status="completed", reason=None, original="# Doc\n\nFixd text.\n") == reply


SHORT_DOC = "# Notes\n\n" + "A short paragraph with teh typo and a few more words to read. " * 4 + "\n"


def test_a_refusal_never_replaces_a_short_document(scripted: ScriptedBackend) -> None:
    Path("doc.md").write_text(SHORT_DOC)
    scripted.responder = lambda _: "I'm sorry, but I can't help with that."
    assert hook_main(["doc.md"]) == 1
    assert Path("doc.md").read_text() == SHORT_DOC


def test_chatter_around_a_tiny_input_is_refused(api: FakeOpenAI) -> None:
    api.responder = lambda text: "Sure! Here is the corrected document:\n\n" + text + "\n\nLet me know" + "!" * 200
    done = run_program("gpt-filter", "MarkdownLinter", stdin=b"teh small note\n")
    assert (done.returncode, done.stdout) == (1, b"teh small note\n")
    assert b"size" in done.stderr


def test_a_few_words_may_still_change_in_a_tiny_text(scripted: ScriptedBackend) -> None:
    scripted.responder = lambda _: "The cat sat on the mat."
    assert gpt_tools.run("ProofReader", "teh cat sat on teh mat").text == "The cat sat on the mat."


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR only"])
def test_secret_line_numbers_count_every_line_ending(ending: str) -> None:
    """CR-only files (old Mac, some exports) were all "line 1": lines break where Markdown breaks them."""
    lines = ["# Notes", "", "a form feed \f and a U+2028 \u2028 do not end lines", f"key = {OPENAI_KEY}", "end"]
    text = ending.join(lines) + ending
    assert [f.line for f in find_secrets(text, "notes.md")] == [4]
    assert "notes.md, line 4: looks like" in find_secrets(text, "notes.md")[0].describe()


# --- attachments in compressed containers ----------------------------------------------------------
OPENSSH = "-----BEGIN OPENSSH " + "PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


def _zip(members: dict[str, bytes], method: int = 8) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _docx(body: str) -> bytes:
    # Word splits a line into runs (spelling, edits): the key's header is never one run of text.
    head, tail = body.split(" PRIVATE", 1)
    xml = f'<w:document><w:body><w:p><w:r><w:t>{head}</w:t></w:r><w:r><w:t xml:space="preserve"> PRIVATE{tail}'
    xml += "</w:t></w:r></w:p></w:body></w:document>"
    return _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": xml.encode()})


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data)


def _pdf(content: bytes) -> bytes:
    import zlib

    stream = zlib.compress(content)
    head = b"%PDF-1.7\n1 0 obj\n<< /Length " + str(len(stream)).encode() + b" /Filter /FlateDecode >>\nstream\n"
    return head + stream + b"\nendstream\nendobj\n%%EOF\n"


CONTAINERS = {
    "docx": lambda: _docx(OPENSSH),
    "zip": lambda: _zip({"keys/id_ed25519": OPENSSH.encode()}),
    "gz": lambda: _gzip(OPENSSH.encode()),
    "tar.gz": lambda: _gzip(b"id_ed25519\0" + b"\0" * 500 + OPENSSH.encode()),
    "zip in gz": lambda: _gzip(_zip({"a.txt": OPENSSH.encode()})),
    "bz2": lambda: __import__("bz2").compress(OPENSSH.encode()),
    "xz": lambda: __import__("lzma").compress(OPENSSH.encode()),
    "pdf": lambda: _pdf(b"BT /F1 12 Tf (" + OPENSSH.split("\n")[0].encode() + b") Tj ET"),
}


@pytest.mark.parametrize("case", CONTAINERS)
def test_a_key_inside_a_compressed_attachment_is_found(case: str) -> None:
    data = CONTAINERS[case]()
    assert OPENSSH[:30].encode() not in data  # compressed: the old byte scan saw nothing
    findings = find_secrets(scannable_text(data), f"s.{case}")
    assert [f.kind for f in findings][:1] == ["a private key block"], findings
    assert "\0" not in scannable_text(data)  # the input checks refuse a NUL as binary


def test_clean_archives_pass_and_members_are_named() -> None:
    assert find_secrets(scannable_text(_docx("nothing -----BEGIN PUBLIC KEY----- PRIVATE here")), "a.docx") == []
    found = find_secrets(scannable_text(_zip({"x.txt": b"ok\n", "deep/k.pem": b"\n\n" + OPENSSH.encode()})), "a.zip")
    assert [(f.source, f.line) for f in found] == [("a.zip: deep/k.pem", 3)]


def test_a_member_name_cannot_forge_a_marker_or_reach_the_terminal_raw() -> None:
    data = _zip({"\x1b[2J\n\x01!fake\x01\n": OPENSSH.encode()})
    (finding,) = find_secrets(scannable_text(data), "a.zip")
    assert not finding.unscannable and "\x1b" not in finding.source


UNSCANNABLE = {
    "zip bomb": (lambda: _zip({"big.txt": b"\0" * (80 << 20)}), "over"),
    "gzip bomb": (lambda: _gzip(b"a" * (80 << 20)), "over"),
    "ratio": (lambda: _zip({"z.txt": b"\0" * (8 << 20)}), "times its size"),
    "truncated": (lambda: _gzip(OPENSSH.encode() * 50)[:-40], "not a readable gzip"),
    "broken zip": (lambda: _zip({"a.txt": b"x" * 5000})[:-30], "zip"),
}


@pytest.mark.parametrize("case", UNSCANNABLE)
def test_an_archive_that_cannot_be_scanned_within_bounds_is_refused(case: str) -> None:
    make, why = UNSCANNABLE[case]
    with pytest.raises(InputRefused, match="cannot be checked for secrets") as caught:
        refuse_secrets({"s.bin": scannable_text(make())})
    assert why in str(caught.value) and "--allow-secrets" in str(caught.value)


def test_an_encrypted_zip_member_is_refused() -> None:
    data = bytearray(_zip({"secret.txt": b"hello"}, method=0))
    data[6] |= 1  # the local header's "encrypted" flag
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 1
    with pytest.raises(InputRefused, match=r"secret\.txt is encrypted"):
        refuse_secrets({"s.zip": scannable_text(bytes(data))})


def test_ordinary_binaries_are_not_taken_for_archives() -> None:
    assert find_secrets(scannable_text(b"BZh1 is a bzip2 header; so is this: BZh9\n"), "notes.md") == []
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40 + b"PK\x05\x06" + b"\x07" * 30
    assert find_secrets(scannable_text(png), "img.png") == []


@pytest.mark.parametrize("name", ["s.docx", "s.zip", "s.gz"])
def test_run_refuses_to_upload_a_compressed_attachment_holding_a_key(api: FakeOpenAI, name: str) -> None:
    data = {"s.docx": CONTAINERS["docx"], "s.zip": CONTAINERS["zip"], "s.gz": CONTAINERS["gz"]}[name]()
    Path(name).write_bytes(data)
    done = run_program("gpt-tools", "run", "DocWriter", "-t", "describe it", "--input-files", name)
    assert done.returncode == 2, done.stderr
    assert b"looks like a private key block" in done.stderr
    assert api.requests == []  # neither uploaded nor sent
    allowed = run_program(
        "gpt-tools", "run", "DocWriter", "-t", "describe it", "--allow-secrets", "--input-files", name
    )
    assert allowed.returncode == 0, allowed.stderr


def test_every_flate_stream_of_a_pdf_is_scanned_but_its_images_are_not_unpacked() -> None:
    import zlib

    def obj(number: int, kind: bytes, content: bytes) -> bytes:
        body = zlib.compress(content)
        return b"%d 0 obj\n<< %s/Filter /FlateDecode >>\nstream\n%s\nendstream\nendobj\n" % (number, kind, body)

    image = b"-----BEGIN RSA " + b"PRIVATE KEY----- pixels"  # never read as text: it is an image
    pdf = b"%PDF-1.4\n" + obj(1, b"", b"BT (hi) Tj ET") + obj(2, b"/Subtype /Image ", image)
    assert find_secrets(scannable_text(pdf), "a.pdf") == []
    found = find_secrets(scannable_text(pdf + obj(3, b"", OPENSSH.encode())), "a.pdf")
    assert [(f.source, f.kind) for f in found] == [("a.pdf: stream 3", "a private key block")]


# --- pragma: allowlist secret (detect-secrets' spelling) -----------------------------------------


@pytest.mark.parametrize("secret", ALL_SECRETS, ids=list(KINDS))
@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["lf", "crlf", "cr"])
def test_a_line_marked_pragma_allowlist_secret_is_not_flagged(secret: str, ending: str) -> None:
    first = secret.splitlines()[0]
    marked = f"intro{ending}{first}  <!-- pragma: allowlist secret -->{ending}"
    assert find_secrets(marked) == []
    before = f"# pragma: allowlist nextline secret{ending}{first}{ending}"
    assert find_secrets(before) == []
    # Only that line: the same secret on the next line is still found, and so is one two lines down.
    assert [f.line for f in find_secrets(marked + first + ending)] == [3]
    assert [f.line for f in find_secrets(before.replace(ending + first, ending + ending + first))] == [3]


def test_the_refusal_names_the_pragma_and_the_flag() -> None:
    with pytest.raises(InputRefused) as caught:
        refuse_secrets({"README.md": AWS_ID + "\n"})
    assert "`pragma: allowlist secret`" in str(caught.value) and "--allow-secrets" in str(caught.value)


def test_run_sends_a_document_and_an_attachment_whose_secret_lines_are_marked(api: FakeOpenAI) -> None:
    Path("notes.md").write_text(f"Use {AWS_ID} here. <!-- pragma: allowlist secret -->\n")
    Path("data.bin").write_bytes(f"\0\0key = {AWS_ID}  # pragma: allowlist secret\n".encode())
    done = run_program("gpt-tools", "run", "DocWriter", "-t", "describe", "notes.md", "--input-files", "data.bin")
    assert done.returncode == 0, done.stderr
    Path("data.bin").write_bytes(f"\0\0key = {AWS_ID}\n".encode())
    refused = run_program("gpt-tools", "run", "DocWriter", "-t", "describe", "notes.md", "--input-files", "data.bin")
    assert refused.returncode == 2 and b"data.bin, line 1" in refused.stderr


@pytest.mark.parametrize(
    "text",
    [
        # Lines some editors show apart (U+2028, NEL, form feed) are not one line for the pragma.
        f"Not a key <!-- pragma: allowlist secret -->\u2028{AWS_ID}\n",
        f"Not a key <!-- pragma: allowlist secret -->\x85{AWS_ID}\n",
        f"# pragma: allowlist nextline secret\x0c{AWS_ID}\n",
        f"{AWS_ID}\u2029# pragma: allowlist secret\n",
        # A secret over several lines needs each marked: the value is on the line after the pragma's.
        f"# pragma: allowlist nextline secret\naws_secret_access_key =\n{AWS_SECRET}\n",
        # A private key is the lines between BEGIN and END, which the BEGIN line's pragma does not mark.
        PRIVATE_KEY.replace("KEY-----\n", "KEY----- <!-- pragma: allowlist secret -->\n", 1),
    ],
)
def test_a_pragma_never_allows_a_secret_on_another_line(text: str) -> None:
    assert len(find_secrets(text)) == 1


def test_a_private_key_marked_on_every_line_is_allowed() -> None:
    marked = "\n".join(f"{line} # pragma: allowlist secret" for line in PRIVATE_KEY.splitlines())
    assert find_secrets(marked + "\n") == []


def test_a_pragma_in_a_container_allows_nothing() -> None:
    # A .docx keeps its whole text on one XML line: a pragma in its first paragraph would otherwise
    # allow a key in its last one.
    xml = (
        "<w:document><w:body><w:p><w:r><w:t>Notes <!-- pragma: allowlist secret --></w:t></w:r></w:p>"
        f"<w:p><w:r><w:t>Much later: {AWS_ID}</w:t></w:r></w:p></w:body></w:document>"
    )
    docx = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": xml.encode()})
    found = find_secrets(scannable_text(docx), "notes.docx")
    assert {f.source for f in found} == {"notes.docx: word/document.xml", "notes.docx: word/document.xml (text)"}
    assert find_secrets(scannable_text(_gzip(f"x {AWS_ID} # pragma: allowlist secret\n".encode())), "a.gz") != []


def test_a_marked_key_header_in_prose_is_only_its_own_line() -> None:
    header = PRIVATE_KEY.splitlines()[0]
    prose = f"The file starts with `{header}` <!-- pragma: allowlist secret -->\nand then prose follows.\n"
    assert find_secrets(prose) == []
    # Without an END line, the key is the key-like lines after the header, each needing the pragma.
    body = f"{header} <!-- pragma: allowlist secret -->\nMIIEpAIBAAKCAQEA7abc\n\nProse after.\n"
    assert [f.line for f in find_secrets(body)] == [1]


def test_the_refusal_offers_the_pragma_only_where_one_would_count() -> None:
    with pytest.raises(InputRefused) as caught:
        refuse_secrets({"notes.md": PRIVATE_KEY + "\n"})
    assert "comment to each line it is on" in str(caught.value)  # a key is several lines
    with pytest.raises(InputRefused) as caught:
        refuse_secrets({"a.gz": scannable_text(_gzip(f"{AWS_ID}\n".encode()))})
    assert "pragma" not in str(caught.value) and "--allow-secrets" in str(caught.value)
