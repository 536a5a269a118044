"""The harbor_ha_bundle Ansible module, run for real by ansible-playbook against localhost."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT, secret_env, tree

import harbor_ha
import harbor_ha.ansible

PLAYBOOK = ROOT / "harbor-ha-py/examples/ansible/playbook.yml"
SEED = ROOT / "fixtures/examples/seed.yaml"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"

pytestmark = pytest.mark.skipif(
    not ANSIBLE_PLAYBOOK.exists() and os.environ.get("CI") != "true",
    reason="ansible-core is not installed in this environment (make test-python installs it)",
)


def playbook(
    tmp_path: Path,
    extra: dict[str, object],
    book: Path = PLAYBOOK,
    env: dict[str, str] | None = None,
    check: bool = False,
) -> tuple[int, str, dict[str, int]]:
    """Run `book` against localhost with the installed module; return (rc, output, recap)."""
    # The playbook is copied so that Ansible uses the module shipped in the wheel, not the
    # source tree's library/ next to the example.
    work = tmp_path / "play"
    work.mkdir(exist_ok=True)
    shutil.copy(book, work / "playbook.yml")
    (work / "extra.json").write_text(json.dumps({"ansible_python_interpreter": sys.executable, **extra}))
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    full_env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "LC_ALL": "C.UTF-8",
        "ANSIBLE_LIBRARY": harbor_ha.ansible.LIBRARY,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": str(tmp_path / "ansible-remote"),
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        **(env or {}),
    }
    r = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", "playbook.yml", "-e", "@extra.json"]
        + (["--check"] if check else []),
        cwd=work,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = r.stdout + r.stderr
    m = re.search(r"^localhost\s*:\s*(.*)$", out, re.MULTILINE)
    recap = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))} if m else {}
    return r.returncode, out, recap


def test_renders_the_bundle_then_reports_no_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "bundle"
    env = secret_env(SEED.read_text())
    # Check mode: would change, writes nothing.
    rc, out, recap = playbook(tmp_path, {"topology": str(SEED), "dest": str(dest)}, env=env, check=True)
    assert rc == 0 and recap["changed"] == 1, out
    assert not dest.exists()

    rc, out, recap = playbook(tmp_path, {"topology": str(SEED), "dest": str(dest)}, env=env)
    assert rc == 0, out
    assert recap["changed"] == 1 and recap["failed"] == 0, out

    # The bundle on disk is what the bindings render with the secrets the module generated.
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    expected = harbor_ha.load(SEED).render(secrets_dir=dest / "secrets")
    on_disk = tree(dest)
    assert set(on_disk) == set(expected) | {".harbor-ha-bundle", "MANIFEST.sha256"}
    for p, f in expected.items():
        assert on_disk[p] == (f.content.encode(), f.mode), p

    # Second run: same secrets, same files: nothing changes.
    rc, out, recap = playbook(tmp_path, {"topology": str(SEED), "dest": str(dest)}, env=env)
    assert rc == 0, out
    assert recap["changed"] == 0, out
    assert tree(dest) == on_disk

    # A file whose mode drifted is a change, and is put back.
    script = next(p for p in expected if p.endswith("install.sh"))
    (dest / script).chmod(0o644)
    rc, out, recap = playbook(tmp_path, {"topology": str(SEED), "dest": str(dest)}, env=env)
    assert rc == 0 and recap["changed"] == 1, out
    assert tree(dest) == on_disk


def test_inline_topology_dict(tmp_path: Path) -> None:
    book = tmp_path / "inline.yml"
    book.write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "all",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "harbor_ha_bundle": {"topology_dict": "{{ topo }}", "dest": "{{ dest }}"},
                            "environment": secret_env(SEED.read_text()),
                        }
                    ],
                }
            ]
        )
    )
    dest = tmp_path / "bundle"
    extra = {"topo": yaml.safe_load(SEED.read_text()), "dest": str(dest)}
    rc, out, recap = playbook(tmp_path, extra, book=book)
    assert rc == 0 and recap["changed"] == 1, out
    assert (dest / ".harbor-ha-bundle").exists() and (dest / "secrets/prod/core_secret").exists()
    rc, out, recap = playbook(tmp_path, extra, book=book)
    assert rc == 0 and recap["changed"] == 0, out


def test_invalid_topology_fails_with_readable_diagnostics(tmp_path: Path) -> None:
    bad = ROOT / "fixtures/rules/HA003/trigger.yaml"
    dest = tmp_path / "bundle"
    rc, out, recap = playbook(tmp_path, {"topology": str(bad), "dest": str(dest)}, env=secret_env(bad.read_text()))
    assert rc != 0 and recap["failed"] == 1, out
    assert "the topology has errors" in out
    assert "HA003 error at sites[0].hosts[2].address" in out and "hint:" in out
    assert '"diagnostics"' in out and '"code": "HA003"' in out
    assert not dest.exists()


def test_unparsable_topology_fails_with_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nsites:\n  - name: a\n    colour: blue\n")
    rc, out, recap = playbook(tmp_path, {"topology": str(bad), "dest": str(tmp_path / "bundle")})
    assert rc != 0 and recap["failed"] == 1, out
    assert "HA001" in out and "line 4" in out and "unknown key `colour`" in out
