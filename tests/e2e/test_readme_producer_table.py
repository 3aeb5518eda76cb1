"""Every row of the README's table of accepted producers and idioms names a test that exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _rows():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("### Producers and idioms"):]
    section = section[:section.index("\n## ")]
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith(("| producer", "| ---")):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            yield cells[0], re.findall(r"`([^`]*test_[^`]*)`", cells[-1])


def test_every_producer_row_names_an_existing_test():
    rows = list(_rows())
    assert len(rows) >= 12
    for idiom, refs in rows:
        assert refs, f"the README row '{idiom}' names no test"
        for ref in refs:
            path, _, function = ref.partition("::")
            files = list((ROOT / "tests").rglob(Path(path).name))
            assert files, f"'{idiom}': {path} does not exist"
            if function:
                function = function.split("[")[0]
                assert any(f"def {function}(" in f.read_text() for f in files), f"'{idiom}': no test {ref}"
