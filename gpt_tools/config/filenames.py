"""Where a file named in a config lies (instructions_file, knowledge `files`).

One resolution for every reader of the name, so they cannot disagree about which file it is: the
loader and the knowledge reader that read it, the trust digest and the confinement check that gate
it, `show` / `config show` that elide it, and the commands that edit `files`.
"""

from __future__ import annotations

import os
from pathlib import Path


def named_file(folder: Path | str, name: str) -> Path:
    """The file `name` denotes for a config in `folder`: `~` and `~user` expand to a home folder (as the
    shell and $GPT_TOOLS_CONFIG would; it lies outside the project, so it is trust-gated like any
    other path leading out), an absolute name stays, anything else is relative to `folder`.
    `./~/x` names a folder called `~` in the project."""
    return Path(folder) / os.path.expanduser(name)
