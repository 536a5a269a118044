"""The Python bindings and the CLI give the same output: every bundle byte for byte (with the
same secrets and environment), and the same diagnostics for every rule fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import RENDERABLE, RULE_FIXTURES, ROOT, localize, run_cli, secret_env, seed_secrets, tree

import harbor_ha


def ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT / "fixtures")) for p in paths]


@pytest.mark.parametrize("fixture", RENDERABLE, ids=ids(RENDERABLE))
def test_bundle_is_byte_identical_to_the_cli(
    fixture: Path, cli: Path, secrets_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = localize(fixture.read_text(), tmp_path / "secret-files")
    topo_file = tmp_path / fixture.name
    topo_file.write_text(text)
    env = secret_env(text)
    for k, v in env.items():
        monkeypatch.setenv(k, v)

    # The CLI renders first; its <out>/secrets are what Python then reads.
    out_cli = tmp_path / "cli"
    seed_secrets(secrets_template, out_cli / "secrets", harbor_ha.load(topo_file).sites)
    r = run_cli(cli, "render", str(topo_file), "--out", str(out_cli), "--force", env=env)
    assert r.returncode == 0, r.stdout + r.stderr

    bundle = harbor_ha.load(topo_file).render(secrets_dir=out_cli / "secrets")
    on_disk = tree(out_cli)
    # The marker and the manifest are the writer's, not files of the bundle.
    writer = {".harbor-ha-bundle", "MANIFEST.sha256"}
    assert sorted(bundle) == sorted(p for p in on_disk if p not in writer)
    for path, f in bundle.items():
        content, mode = on_disk[path]
        assert f.content.encode() == content, f"{path}: content differs from the CLI's"
        assert f.mode == mode, f"{path}: mode {f.mode:o} != the CLI's {mode:o}"

    # Bundle.write gives the same tree as `harbor-ha render --out`, marker and manifest included.
    out_py = tmp_path / "py"
    bundle.write(out_py)
    assert tree(out_py) == on_disk

    # from_dict goes through the same model: the same bundle.
    assert harbor_ha.from_dict(yaml.safe_load(text)).render(secrets_dir=out_cli / "secrets") == bundle


def test_secrets_generated_by_the_cli_are_reused(cli: Path, tmp_path: Path, seed_env: dict[str, str]) -> None:
    """The brief's flow without pre-seeded secrets: the CLI generates, Python reuses."""
    f = tmp_path / "seed.yaml"
    f.write_text(harbor_ha.example("seed"))
    r = run_cli(cli, "render", str(f), "--out", str(tmp_path / "cli"), env=seed_env)
    assert r.returncode == 0, r.stdout + r.stderr
    harbor_ha.load(f).render(secrets_dir=tmp_path / "cli" / "secrets").write(tmp_path / "py")
    assert tree(tmp_path / "py") == tree(tmp_path / "cli")


@pytest.mark.parametrize("fixture", RULE_FIXTURES, ids=ids(RULE_FIXTURES))
def test_diagnostics_match_the_cli(fixture: Path, cli: Path) -> None:
    r = run_cli(cli, "validate", str(fixture), "--format", "json")
    assert r.returncode in (0, 1, 2), r.stderr
    # The warnings the topology's `allow` accepts: in the CLI's JSON as suppressed, left
    # out by Topology.validate().
    # Diagnostic.to_dict() has the contract's keys; the CLI adds file, end_line, end_column,
    # explain and related for people and CI.
    contract = ("code", "severity", "message", "hint", "path", "line", "column")
    expected = [{k: d[k] for k in contract} for d in json.loads(r.stdout) if not d.get("suppressed")]
    try:
        got = [d.to_dict() for d in harbor_ha.load(fixture).validate()]
    except harbor_ha.ValidationError as e:
        assert r.returncode == 2, "Python refused a file the CLI parsed"
        got = [d.to_dict() for d in e.diagnostics]
    assert got == expected
