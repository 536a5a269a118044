"""The two-way API: Topology.to_dict() (and back through from_dict), harbor_ha.schema(),
Topology.plan() (install plan and change plan, the CLI's JSON), Bundle.write()'s outcome, and
render(secrets=...) instead of the environment."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import RENDERABLE, ROOT, localize, run_cli, secret_env, seed_secrets, tree

import harbor_ha

CHANGES = sorted((ROOT / "fixtures/change").glob("*/to.yaml"))


def ids(paths: list[Path]) -> list[str]:
    return [str(p.relative_to(ROOT / "fixtures")) for p in paths]


def positionless(diags: list[harbor_ha.Diagnostic]) -> list[dict[str, object]]:
    out = []
    for d in diags:
        x = dict(d.to_dict())
        x["line"] = x["column"] = None
        out.append(x)
    return sorted(out, key=lambda x: json.dumps(x, sort_keys=True))


# --- to_dict -------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", RENDERABLE, ids=ids(RENDERABLE))
def test_to_dict_round_trips_to_the_same_bundle(
    fixture: Path, secrets_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = localize(fixture.read_text(), tmp_path / "secret-files")
    for k, v in secret_env(text).items():
        monkeypatch.setenv(k, v)
    topo = harbor_ha.loads(text)
    data = topo.to_dict()
    # Plain data only: JSON says so.
    assert json.loads(json.dumps(data)) == data
    again = harbor_ha.from_dict(data)
    assert again.to_dict() == data, "to_dict(from_dict(d)) is d"
    assert again.sites == topo.sites
    assert positionless(again.validate()) == positionless(topo.validate())
    # The template's secrets, completed by a first render (the ones a fixture needs besides).
    seed_secrets(secrets_template, tmp_path / "template", topo.sites)
    topo.render(secrets_dir=tmp_path / "template").write(tmp_path / "out", force=True)
    secrets = tmp_path / "out" / "secrets"
    assert again.render(secrets_dir=secrets) == topo.render(secrets_dir=secrets)


def test_to_dict_keeps_references_and_literal_secrets_and_leaves_out_absent_keys() -> None:
    text = harbor_ha.example("seed")
    assert "{env: HARBOR_DB_PASSWORD}" in text
    literal = "Literal-Secret-Pw1"
    topo = harbor_ha.loads(text.replace("{env: HARBOR_DB_PASSWORD}", f'"{literal}"', 1))
    data = topo.to_dict()
    site = data["sites"][0]
    assert site["harbor"]["admin_password"] == {"env": "HARBOR_ADMIN_PASSWORD"}
    assert literal in json.dumps(data), "a literal secret is data, as in the file"
    assert literal not in repr(topo)
    # Keys the file left out are left out, not null.
    assert "replication" not in data
    assert None not in site.values()


# --- schema --------------------------------------------------------------------------------


def test_schema_is_the_clis(cli: Path) -> None:
    r = run_cli(cli, "schema")
    assert r.returncode == 0, r.stderr
    s = harbor_ha.schema()
    assert s == json.loads(r.stdout)
    assert s == json.loads((ROOT / "schema/topology.schema.json").read_text())
    assert s["title"] == "TopologySpec" and "sites" in s["properties"]


# --- plan ----------------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", RENDERABLE, ids=ids(RENDERABLE))
def test_plan_is_the_clis_json(fixture: Path, cli: Path) -> None:
    r = run_cli(cli, "plan", str(fixture), "--format", "json")
    assert r.returncode == 0, r.stderr
    plan = harbor_ha.load(fixture).plan()
    assert plan == json.loads(r.stdout)
    topo = harbor_ha.load(fixture)
    assert [s["site"] for s in plan["sites"]] == topo.sites
    for site in plan["sites"]:
        assert [h["step"] for h in site["hosts"]] == list(range(1, len(site["hosts"]) + 1))


@pytest.mark.parametrize("to", CHANGES, ids=ids(CHANGES))
@pytest.mark.parametrize("diff", [False, True], ids=["plain", "diff"])
def test_change_plan_is_the_clis_json(to: Path, diff: bool, cli: Path) -> None:
    old = to.parent / "from.yaml"
    args = ["plan", "--from", str(old), str(to), "--format", "json"] + (["--diff"] if diff else [])
    r = run_cli(cli, *args)
    new = harbor_ha.load(to)
    if r.returncode == 1:
        with pytest.raises(harbor_ha.ValidationError) as e:
            new.plan(from_=harbor_ha.load(old), diff=diff)
        assert [d.to_dict() for d in e.value.diagnostics] == [
            d for d in json.loads(r.stdout) if not d.get("suppressed")
        ]
        return
    assert r.returncode == 0, r.stderr
    plan = new.plan(from_=harbor_ha.load(old), diff=diff)
    assert plan == json.loads(r.stdout)
    assert plan["steps"], "a change fixture changes something"


def test_change_plan_of_a_topology_to_itself_is_empty() -> None:
    seed = harbor_ha.loads(harbor_ha.example("seed"))
    plan = seed.plan(from_=seed)
    assert plan["steps"] == [] and plan["downtime"] is False


def test_plan_of_an_invalid_topology_raises_with_every_error() -> None:
    bad = harbor_ha.load(ROOT / "fixtures/rules/HA003/trigger.yaml")
    with pytest.raises(harbor_ha.ValidationError) as e:
        bad.plan()
    assert "HA003" in {d.code for d in e.value.diagnostics}
    seed = harbor_ha.loads(harbor_ha.example("seed"))
    with pytest.raises(harbor_ha.ValidationError) as e:
        seed.plan(from_=bad)
    assert "HA003" in {d.code for d in e.value.diagnostics}


def test_change_options_need_from() -> None:
    seed = harbor_ha.loads(harbor_ha.example("seed"))
    for kwargs in ({"diff": True}, {"allow_destructive": True}):
        with pytest.raises(ValueError, match="from_"):
            seed.plan(**kwargs)  # type: ignore[call-overload]


# --- Bundle.write --------------------------------------------------------------------------


def test_write_reports_what_changed(tmp_path: Path, seed_secrets_dir: Path, seed_env: dict[str, str]) -> None:
    seed = harbor_ha.loads(harbor_ha.example("seed"))
    bundle = seed.render(secrets_dir=seed_secrets_dir)
    out = tmp_path / "out"

    first = bundle.write(out)
    assert first.outcome == "written" and first.written
    # Every file of the bundle is new (the bundle marker is not listed).
    assert first.created == sorted(bundle) and first.changed == [] and first.removed == []

    again = bundle.write(out)
    assert again.outcome == "unchanged" and not again.written
    assert (again.created, again.changed, again.removed) == ([], [], [])
    assert again == bundle.write(out) and again != first

    # The LB moves: the files that name its address change, none is created or removed.
    data = seed.to_dict()
    sites = data["sites"]
    lb = next(h for h in sites[0]["hosts"] if "lb" in h["roles"])
    lb["address"] = "192.168.166.250"
    moved = harbor_ha.from_dict(data).render(secrets_dir=seed_secrets_dir)
    result = moved.write(out)
    assert result.written and result.created == [] and result.removed == []
    assert result.changed == sorted(p for p in moved if moved[p] != bundle.get(p))
    assert result.changed, "moving the LB changes files"
    assert repr(result) == f"WriteResult(outcome='written', created=0, changed={len(result.changed)}, removed=0)"
    assert tree(out)  # still a bundle


def test_write_result_is_the_clis_verbose_listing(
    cli: Path, tmp_path: Path, secrets_template: Path, seed_env: dict[str, str]
) -> None:
    """The same starting directory (the stored secrets only) written by `render -v` and by
    Bundle.write: the same created, changed and removed paths."""
    f = tmp_path / "seed.yaml"
    f.write_text(harbor_ha.example("seed"))
    cli_out, py_out = tmp_path / "cli", tmp_path / "py"
    for d in (cli_out, py_out):
        seed_secrets(secrets_template, d / "secrets", ["prod"])
    r = run_cli(cli, "render", str(f), "--out", str(cli_out), "--force", "-v", env=seed_env)
    assert r.returncode == 0, r.stderr
    listed: dict[str, list[str]] = {"created": [], "changed": [], "removed": []}
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in listed:
            listed[parts[0]].append(parts[1])
    result = harbor_ha.load(f).render(secrets_dir=py_out / "secrets").write(py_out, force=True)
    assert {"created": result.created, "changed": result.changed, "removed": result.removed} == {
        k: sorted(v) for k, v in listed.items()
    }
    assert result.created, r.stdout
    assert tree(py_out) == tree(cli_out)


# --- render(secrets=...) -------------------------------------------------------------------


def test_secrets_mapping_gives_the_environments_bundle(
    seed_secrets_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed = harbor_ha.loads(harbor_ha.example("seed"))
    values = secret_env(harbor_ha.example("seed"))
    for k in values:
        monkeypatch.delenv(k, raising=False)
    from_mapping = seed.render(secrets_dir=seed_secrets_dir, secrets=values)
    for k, v in values.items():
        monkeypatch.setenv(k, v)
    assert from_mapping == seed.render(secrets_dir=seed_secrets_dir)
    assert any(values["HARBOR_DB_PASSWORD"] in f.content for f in from_mapping.values())


def test_secrets_mapping_replaces_the_environment(
    cli: Path, tmp_path: Path, seed_secrets_dir: Path, seed_env: dict[str, str]
) -> None:
    """Every variable is set in the environment, one is missing from the mapping: the CLI's
    SC002 when the environment lacks it (code, severity, path), its message and hint naming
    the mapping instead of the environment."""
    values = dict(seed_env)
    del values["HARBOR_DB_PASSWORD"]
    seed = harbor_ha.loads(harbor_ha.example("seed"))
    with pytest.raises(harbor_ha.ValidationError) as e:
        seed.render(secrets_dir=seed_secrets_dir, secrets=values)
    got = [d.to_dict() for d in e.value.diagnostics]

    f = tmp_path / "seed.yaml"
    f.write_text(harbor_ha.example("seed"))
    env = {k: v for k, v in os.environ.items() if k != "HARBOR_DB_PASSWORD"}
    shutil.copytree(seed_secrets_dir, tmp_path / "out" / "secrets")
    r = subprocess.run(
        [str(cli), "render", str(f), "--out", str(tmp_path / "out"), "--force"], capture_output=True, text=True, env=env
    )
    assert r.returncode == 1, r.stdout + r.stderr
    # The CLI's render prints text; its JSON is validate's, which does not resolve secrets:
    # compare with the text, which holds the code, path and hint.
    assert len(got) == 1
    (d,) = got
    assert d["code"] == "SC002" and d["severity"] == "error"
    shown = r.stdout + r.stderr
    assert "SC002" in shown and d["path"] in shown
    assert d["message"] == f"`{d['path']}` cannot be resolved: HARBOR_DB_PASSWORD is not in the secrets mapping (which replaces the environment)"
    assert f"`{d['path']}` cannot be resolved: environment variable HARBOR_DB_PASSWORD is not set" in shown
    assert d["hint"].startswith("add HARBOR_DB_PASSWORD to the `secrets` mapping"), d["hint"]
    assert "export HARBOR_DB_PASSWORD before rendering" in shown


def test_secret_values_never_appear_in_errors_or_reprs(seed_secrets_dir: Path) -> None:
    text = harbor_ha.example("seed")
    seed = harbor_ha.loads(text)
    values = secret_env(text)
    values["HARBOR_DB_PASSWORD"] = "Line-Broken-Secret-1\nsecond line"
    with pytest.raises(harbor_ha.ValidationError) as e:
        seed.render(secrets_dir=seed_secrets_dir, secrets=values)
    shown = str(e.value) + repr(e.value) + "".join(repr(d) + str(d) + d.hint for d in e.value.diagnostics)
    assert "SC002" in shown and "Line-Broken-Secret" not in shown
    with pytest.raises(TypeError) as t:
        seed.render(secrets={"HARBOR_DB_PASSWORD": b"Bytes-Secret-1"})  # type: ignore[dict-item]
    assert "HARBOR_DB_PASSWORD" in str(t.value) and "Bytes-Secret" not in str(t.value)
    with pytest.raises(TypeError, match="mapping"):
        seed.render(secrets=[("HARBOR_DB_PASSWORD", "x")])  # type: ignore[arg-type]
    del values["HARBOR_DB_PASSWORD"]
    bundle = seed.render(secrets_dir=seed_secrets_dir, secrets={**values, "HARBOR_DB_PASSWORD": "Ok-Secret-Pw1"})
    assert "Ok-Secret-Pw1" not in repr(bundle) + repr(seed) + "".join(repr(f) for f in bundle.values())
