"""The README's Python section, run as written: its shell block (minus the pip install, which
`make test-python` did) and then its Python block, in one fresh directory."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT


def python_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("\n## Python\n")
    # Up to the next heading (the Ansible subsection has its own commands).
    end = re.compile(r"\n##+ ").search(text, start + 1)
    assert end is not None
    return text[start : end.start()]


def blocks(section: str, lang: str) -> list[str]:
    return re.findall(r"```" + lang + r"\n(.*?)```", section, re.S)


def test_the_python_section_sets_what_it_needs() -> None:
    sh = blocks(python_section(), "sh")
    assert len(sh) == 1, "one shell block before the Python snippet"
    exports = [line for line in sh[0].splitlines() if line.startswith("export ")]
    for var in ("HARBOR_ADMIN_PASSWORD", "HARBOR_DB_PASSWORD", "HARBOR_REDIS_PASSWORD"):
        assert any(f"{var}=" in line for line in exports), f"the Python section must export {var}"


def test_the_python_section_runs_as_written(tmp_path: Path, cli: Path) -> None:
    section = python_section()
    (sh,) = blocks(section, "sh")
    (py,) = blocks(section, "python")
    lines = [line for line in sh.splitlines() if not line.startswith("pip install")]
    # The reader fills in the `...` placeholders with their passwords.
    values = iter(["Readme-Admin-1", "readme-db-pw-1", "readme-redis-pw-1"])
    lines = [re.sub(r"=\.\.\.", lambda _m: "=" + next(values), line) for line in lines]
    script = "\n".join(lines) + f"\n{sys.executable} - <<'PY'\n{py}PY\n"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "harbor-ha").symlink_to(cli)
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env={"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert "HA007" in run.stdout, "the snippet prints the seed's warnings"
    assert (tmp_path / "out/README.md").is_file()
    assert (tmp_path / "out/secrets").is_dir()
    harbor_yml = next((tmp_path / "out/hosts").glob("harbor-*/files/**/harbor.yml"))
    assert "Readme-Admin-1" in harbor_yml.read_text(), "the exported password reached the bundle"
