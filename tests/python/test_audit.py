"""Auditing a site from Python: `import_tree` and `drift` return the same data as the CLI's
`--format json`, and `collect_script` is the bundle's collect.sh."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

import harbor_ha

TREES = sorted(p for p in (ROOT / "fixtures/rules").glob("AU*/*") if p.is_dir())


@pytest.mark.parametrize("tree", TREES, ids=[str(p.relative_to(ROOT / "fixtures/rules")) for p in TREES])
def test_import_tree_is_the_cli_json(tree: Path, cli: Path) -> None:
    r = run_cli(cli, "import", str(tree), "--format", "json")
    assert r.returncode in (0, 1), r.stderr
    got = harbor_ha.import_tree(tree)
    assert got == json.loads(r.stdout)
    assert set(got) == {"topology", "findings", "diagnostics"}
    code = tree.parent.name
    everything = got["findings"] + got["diagnostics"]
    if tree.name.startswith("trigger"):
        assert any(d["code"] == code for d in everything)
    else:
        assert not any(d["code"] == code or d["severity"] == "error" for d in everything)


def test_drift_is_the_cli_json(cli: Path, tmp_path: Path, seed_env: dict[str, str], seed_secrets_dir: Path) -> None:
    bundle = tmp_path / "bundle"
    harbor_ha.load(ROOT / "fixtures/examples/seed.yaml").render(secrets_dir=seed_secrets_dir).write(bundle)
    collected = tmp_path / "collected"
    shutil.copytree(bundle / "hosts", collected)
    clean = harbor_ha.drift(bundle, collected)
    assert clean["clean"] is True and clean["findings"] == []
    assert clean["hosts"] == ["harbor-1", "harbor-2", "lb-1", "store-1"]
    conf = collected / "lb-1/files/etc/nginx/conf.d/harbor.conf"
    conf.write_text(conf.read_text().replace("client_max_body_size 0;", "client_max_body_size 1m;"))
    got = harbor_ha.drift(bundle, collected)
    r = run_cli(cli, "drift", str(bundle), str(collected), "--format", "json")
    assert r.returncode == 1
    assert got == json.loads(r.stdout)
    assert not got["clean"]
    [f] = got["findings"]
    assert (f["host"], f["path"], f["kind"]) == ("lb-1", "/etc/nginx/conf.d/harbor.conf", "changed")
    assert "+    client_max_body_size 1m;" in f["diff"]
    assert harbor_ha.drift(bundle, collected, hosts=["store-1"])["clean"] is True


def test_errors_are_python_exceptions(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        harbor_ha.import_tree(tmp_path / "missing")
    with pytest.raises(ValueError, match="no collected host"):
        harbor_ha.import_tree(tmp_path)
    with pytest.raises(ValueError, match="not a harbor-ha bundle"):
        harbor_ha.drift(tmp_path, TREES[0])


def test_collect_script_is_the_cli_s(cli: Path) -> None:
    r = run_cli(cli, "collect-script")
    assert r.returncode == 0
    assert harbor_ha.collect_script() == r.stdout
    assert harbor_ha.collect_script().startswith("#!/usr/bin/env bash\n")
