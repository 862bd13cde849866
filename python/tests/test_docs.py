"""The examples of docs/python.md and of the README's Python section run.

Every ```python block that is a whole program (it imports syssem) runs in
its own process, with its keys made unique to this test, and must exit 0
and leave nothing behind.
"""

import re
import subprocess
import sys

import pytest

from conftest import PATIENCE, TOP


def examples(path, section=None):
    text = (TOP / path).read_text()
    if section:
        start = text.index(f"\n## {section}\n")
        end = text.find("\n## ", start + 1)
        text = text[start:end if end > 0 else None]
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    return [b for b in blocks if re.search(r"^import syssem$", b, re.M)]


EXAMPLES = [(f"docs/python.md#{i}", code)
            for i, code in enumerate(examples("docs/python.md"))]
EXAMPLES += [(f"README.md#{i}", code)
             for i, code in enumerate(examples("README.md", "Python"))]


def test_there_are_examples():
    assert len([e for e in EXAMPLES if e[0].startswith("docs")]) >= 2
    assert any(e[0].startswith("README") for e in EXAMPLES)


@pytest.mark.parametrize("where,code", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_runs(where, code, keys, tmp_path):
    if "PyQt6" in code:
        pytest.importorskip("PyQt6.QtCore", reason="PyQt6 is not installed "
                            "(Debian: python3-pyqt6): its example cannot run")
    code = code.replace('"org.example.', f'"{keys.stem}.org.example.')
    keys.made += re.findall(r'"([^"]*\.org\.example\.[^"]+)"', code)
    assert keys.made, f"{where} names no org.example key"
    script = tmp_path / "example.py"
    script.write_text(code)
    p = subprocess.run([sys.executable, str(script)], cwd=tmp_path,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=PATIENCE)
    assert p.returncode == 0, f"{where} failed:\n{p.stderr}"
    # The workers' lines may interleave: each says "job N" once.
    jobs = sorted(int(n) for n in re.findall(r"job (\d+)", p.stdout))
    if "def render(job)" in code:
        assert jobs == list(range(6))
    if "def work(job)" in code:
        assert jobs == list(range(4))
