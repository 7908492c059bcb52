"""Issue 24, point 5: what a newcomer met on a first run — each answered with the right
words, one sentence, and the right exit code."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path


def test_init_prints_a_cd_the_shell_can_run(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("init", "my drive")
    assert result.code == 0, result.err
    line = next(x for x in result.out.splitlines() if x.startswith("Next: cd "))
    assert "cd 'my drive' &&" in line
    command = line.removeprefix("Next: ").split(" && ")[0]
    done = subprocess.run(["sh", "-c", f"{command} && pwd"], capture_output=True, text=True)
    assert done.stdout.strip() == str(tmp_path / "my drive"), done.stderr
    assert shlex.split(command) == ["cd", "my drive"]
