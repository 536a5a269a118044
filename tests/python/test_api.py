"""The public API: loaders, validation, rendering, the bundle mapping, the rule catalog."""

from __future__ import annotations

import collections.abc
import os
import stat
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

import harbor_ha

SEED = ROOT / "fixtures/examples/seed.yaml"


def test_the_three_loaders_give_the_same_topology(seed_env: dict[str, str], seed_secrets_dir: Path) -> None:
    text = SEED.read_text()
    a = harbor_ha.load(SEED)
    b = harbor_ha.load(str(SEED))
    c = harbor_ha.loads(text)
    d = harbor_ha.from_dict(yaml.safe_load(text))
    assert a.sites == b.sites == c.sites == d.sites == ["prod"]
    assert repr(a) == "Topology(sites=['prod'])"
    secrets = seed_secrets_dir
    first = a.render(secrets_dir=secrets)
    for t in (b, c, d):
        assert t.render(secrets_dir=secrets) == first


def test_validate_returns_diagnostics_with_positions() -> None:
    diags = harbor_ha.load(SEED).validate()
    assert diags, "the seed example has warnings (single points of failure)"
    for d in diags:
        assert isinstance(d, harbor_ha.Diagnostic)
        assert d.severity == "warning" and not d.is_error
        # Single points of failure (HA007) and no backup section (BK002).
        assert d.code in ("HA007", "BK002") and d.message and d.hint and d.path
        assert isinstance(d.line, int) and isinstance(d.column, int)
        assert d.to_dict() == {
            "code": d.code,
            "severity": d.severity,
            "message": d.message,
            "hint": d.hint,
            "path": d.path,
            "line": d.line,
            "column": d.column,
        }
        assert d.code in str(d) and d.message in str(d)
        assert repr(d).startswith("Diagnostic(code='")


def test_warnings_the_topology_allows_are_left_out() -> None:
    data = yaml.safe_load(SEED.read_text())
    codes = sorted({d.code for d in harbor_ha.from_dict(data).validate()})
    assert "HA007" in codes
    data["allow"] = ["HA007"]
    left = [d.code for d in harbor_ha.from_dict(data).validate()]
    assert left and "HA007" not in left
    data["sites"][0]["allow"] = ["HA003"]
    refused = harbor_ha.from_dict(data).validate()
    assert [(d.code, d.path) for d in refused if d.is_error] == [("AL001", "sites[0].allow[0]")]


def test_dict_diagnostics_have_paths_but_no_positions() -> None:
    data = yaml.safe_load(SEED.read_text())
    data["sites"][0]["hosts"][1]["address"] = "10.9.9.9"
    diags = harbor_ha.from_dict(data).validate()
    ha003 = [d for d in diags if d.code == "HA003"]
    assert ha003 and ha003[0].path == "sites[0].hosts[1].address"
    assert ha003[0].line is None and ha003[0].column is None
    # The same topology as text points at the line.
    diags = harbor_ha.loads(yaml.safe_dump(data, sort_keys=False)).validate()
    assert [d for d in diags if d.code == "HA003"][0].line is not None


def test_bundle_is_a_read_only_mapping_of_files(seed_env: dict[str, str], seed_secrets_dir: Path) -> None:
    b = harbor_ha.load(SEED).render(secrets_dir=seed_secrets_dir)
    assert isinstance(b, collections.abc.Mapping)
    assert len(b) == len(list(b)) == len(b.keys()) == len(b.values()) == len(b.items()) > 10
    path = next(p for p in b if p.endswith("install.sh"))
    f = b[path]
    assert isinstance(f, harbor_ha.File)
    assert f.content.startswith("#!") and f.mode == 0o755
    assert path in b and "nope" not in b and 3 not in b
    assert b.get("nope") is None and b.get(path) is f or b.get(path) == f
    with pytest.raises(KeyError):
        b["nope"]
    with pytest.raises(TypeError):
        b[path] = f  # type: ignore[index]
    with pytest.raises(AttributeError):
        f.content = "x"  # type: ignore[misc]
    assert dict(b.items())[path] == f
    secret = next(p for p in b if p.startswith("secrets/"))
    assert b[secret].mode == 0o600
    assert "bytes" in repr(b[secret]) and b[secret].content.strip() not in repr(b[secret])
    assert repr(b) == f"Bundle({len(b)} files)"


def test_render_with_the_same_secrets_dir_is_deterministic(seed_env: dict[str, str], tmp_path: Path) -> None:
    t = harbor_ha.load(SEED)
    t.render().write(tmp_path / "out")
    a = t.render(secrets_dir=tmp_path / "out" / "secrets")
    b = t.render(secrets_dir=os.fspath(tmp_path / "out" / "secrets"))
    assert a == b
    # The bundle carries the secrets it was given, so re-rendering into the same place is stable.
    for p, f in a.items():
        if p.startswith("secrets/"):
            assert (tmp_path / "out" / p).read_text() == f.content


def test_secrets_missing_from_secrets_dir_are_generated(seed_env: dict[str, str], seed_secrets_dir: Path) -> None:
    t = harbor_ha.load(SEED)
    # A secrets_dir without the site's directory generates, like None (which the test
    # above covers).
    fresh = t.render(secrets_dir=seed_secrets_dir / "nothing-here")
    stored = t.render(secrets_dir=seed_secrets_dir)
    for name in ("core_secret", "token_private_key.pem"):
        assert fresh[f"secrets/prod/{name}"] != stored[f"secrets/prod/{name}"]


def test_write_replaces_a_bundle_but_not_another_directory(
    seed_env: dict[str, str], seed_secrets_dir: Path, tmp_path: Path
) -> None:
    b = harbor_ha.load(SEED).render(secrets_dir=seed_secrets_dir)
    out = tmp_path / "out"
    b.write(out)
    readme = out / "README.md"
    os.utime(readme, (1_000_000_000, 1_000_000_000))
    b.write(out)  # the same bundle: left untouched
    assert readme.stat().st_mtime == 1_000_000_000
    readme.write_text("edited")
    with pytest.raises(FileExistsError, match=r"README\.md.*force=True"):
        b.write(out)  # a hand edit is not overwritten…
    assert readme.read_text() == "edited"
    b.write(out, force=True)  # …unless forced
    for p, f in b.items():
        assert (out / p).read_text() == f.content
        assert stat.S_IMODE((out / p).stat().st_mode) == f.mode
    other = tmp_path / "other"
    other.mkdir()
    (other / "precious.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="not a harbor-ha bundle"):
        b.write(other)
    assert (other / "precious.txt").read_text() == "keep"
    b.write(other, force=True)
    assert not (other / "precious.txt").exists()
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError):
        b.write(tmp_path / "file")


def test_rules_and_explain() -> None:
    rules = harbor_ha.rules()
    codes = [r.code for r in rules]
    assert len(codes) == len(set(codes)) > 30
    assert {"HA001", "HA003", "SC002"} <= set(codes)
    for r in rules:
        assert r.severity in ("error", "warning")
        assert r.name and r.summary and r.doc
        assert harbor_ha.explain(r.code).rstrip() == r.doc.rstrip()
        assert harbor_ha.explain(r.name) == harbor_ha.explain(r.code)
    assert harbor_ha.explain("ha003") == harbor_ha.explain("HA003")
    with pytest.raises(ValueError, match="unknown rule code"):
        harbor_ha.explain("XX999")


def test_examples() -> None:
    assert harbor_ha.EXAMPLES == ("seed", "s3", "dual-master", "hierarchy")
    assert harbor_ha.example() == SEED.read_text()
    for name in harbor_ha.EXAMPLES:
        assert harbor_ha.example(name) == (ROOT / "fixtures/examples" / f"{name}.yaml").read_text()
    with pytest.raises(ValueError, match="unknown example"):
        harbor_ha.example("nope")


def test_version() -> None:
    assert harbor_ha.__version__.count(".") == 2
