"""The package is typed: the hand-written stubs match the native module (stubtest), and code
using the API type-checks under mypy --strict."""

from __future__ import annotations

import runpy
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

from conftest import RENDERABLE, ROOT

import harbor_ha

USAGE = '''
from pathlib import Path
import harbor_ha

def summary(path: Path) -> list[str]:
    topo: harbor_ha.Topology = harbor_ha.load(path)
    out = [f"{d.code} {d.severity} {d.path}:{d.line}:{d.column} {d.message} ({d.hint})" for d in topo.validate()]
    try:
        bundle = topo.render(secrets_dir=path.parent / "secrets")
    except harbor_ha.ValidationError as e:
        return out + [str(d) for d in e.diagnostics]
    for rel, f in bundle.items():
        mode: int = f.mode
        content: str = f.content
        out.append(f"{rel} {mode:o} {len(content)}")
    result: harbor_ha.WriteResult = bundle.write(path.parent / "out", force=False)
    out.extend(result.created + result.changed + result.removed + [result.outcome, str(result.written)])
    data: harbor_ha.TopologySpec = topo.to_dict()
    out.extend(s["name"] for s in data["sites"])
    out.extend(h["name"] + h["install_script"] for s in topo.plan()["sites"] for h in s["hosts"])
    change = topo.plan(from_=harbor_ha.from_dict(data), diff=True, allow_destructive=False)
    out.extend(f"{st['id']} {st['kind']} {st['serving']}" for st in change["steps"])
    out.extend(f"{h['script']} {h['from']}" for h in change["hops"])
    topo.render(secrets={"HARBOR_DB_PASSWORD": "x"})
    out.append(str(harbor_ha.schema()["title"]))
    maybe: harbor_ha.File | None = bundle.get("README.md")
    out.extend(r.code + r.name + r.severity + r.summary for r in harbor_ha.rules())
    out.append(harbor_ha.explain("HA003") + harbor_ha.example("seed") + harbor_ha.__version__)
    out.extend(harbor_ha.EXAMPLES)
    harbor_ha.from_dict({"version": 1, "sites": []}).validate()
    harbor_ha.loads("version: 1").sites.append("x")
    report = harbor_ha.import_tree(path.parent / "collected")
    out.append(report["topology"])
    out.extend(f"{d['code']} {d['path']}:{d['line']}" for d in report["findings"] + report["diagnostics"])
    changes = harbor_ha.drift(path.parent / "out", path.parent / "collected", hosts=["lb-1"])
    clean: bool = changes["clean"]
    out.extend(f"{f['host']} {f['kind']} {f['path']} {f.get('diff', '')}" for f in changes["findings"])
    out.append(harbor_ha.collect_script() + str(clean) + str(changes["files"]))
    print(maybe, harbor_ha.ansible.LIBRARY)
    return out
'''


def mypy_strict(tmp_path: Path, source: str) -> subprocess.CompletedProcess[str]:
    f = tmp_path / "usage.py"
    f.write_text(source)
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--no-error-summary", str(f)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )


TYPED_INPUT = """
import harbor_ha

harbor_ha.from_dict({
    "version": 1,
    "sites": [{
        "name": "prod",
        "harbor": {"version": "2.9.0", "external_url": "https://harbor.example.com",
                   "admin_password": {"env": "HARBOR_ADMIN_PASSWORD"}},
        "os": "rocky9",
        "network": {"subnet": "10.0.0.0/24"},
        "hosts": [{"name": "h1", "address": "10.0.0.5", "roles": ["harbor"]}],
        "storage": {"filesystem": {}},
    }],
    "replication": [{"from": "prod", "to": "dr", "trigger": {"cron": "0 0 * * * *"}}],
})
"""


def test_typed_input_type_checks_and_a_typo_fails_naming_the_key(tmp_path: Path) -> None:
    r = mypy_strict(tmp_path, TYPED_INPUT)
    assert r.returncode == 0, r.stdout + r.stderr
    for good, typo in [('"external_url"', '"externalurl"'), ('"roles"', '"role"'), ('"to"', '"too"')]:
        r = mypy_strict(tmp_path, TYPED_INPUT.replace(good, typo, 1))
        assert r.returncode == 1, f"{typo} was accepted"
        assert f"Extra key {typo}" in r.stdout and "typeddict-unknown-key" in r.stdout, r.stdout
    # Inside a union (a secret, a trigger) mypy names the key holding the union instead.
    for good, typo, holder in [('"cron"', '"corn"', "trigger"), ('{"env"', '{"evn"', "admin_password")]:
        r = mypy_strict(tmp_path, TYPED_INPUT.replace(good, typo, 1))
        assert r.returncode == 1, f"{typo} was accepted"
        assert f'TypedDict item "{holder}"' in r.stdout, r.stdout
    # A wrong type and a wrong literal fail too.
    for good, bad in [('"10.0.0.5"', "5"), ('"rocky9"', '"rocky8"'), ('["harbor"]', '["harbour"]')]:
        r = mypy_strict(tmp_path, TYPED_INPUT.replace(good, bad, 1))
        assert r.returncode == 1, f"{bad} was accepted"


def test_every_fixtures_data_type_checks_as_a_topology_spec(tmp_path: Path) -> None:
    """The TypedDicts admit every real topology: each fixture's to_dict() as a literal."""
    lines = ["import harbor_ha", ""]
    for i, f in enumerate(RENDERABLE):
        lines.append(f"t{i}: harbor_ha.TopologySpec = {harbor_ha.load(f).to_dict()!r}")
    r = mypy_strict(tmp_path, "\n".join(lines) + "\n")
    assert r.returncode == 0, r.stdout + r.stderr


def test_spec_is_generated_from_the_schema() -> None:
    gen = runpy.run_path(str(ROOT / "scripts/gen-python-spec.py"))
    committed = (ROOT / "harbor-ha-py/python/harbor_ha/spec.py").read_text()
    assert gen["generate"]() == committed, "spec.py is not current: run `make schema`"
    assert (Path(harbor_ha.__file__).parent / "spec.py").read_text() == committed


def test_spec_has_every_key_of_the_schema_and_no_other() -> None:
    """Independent of the generator: walk the schema and the TypedDicts side by side."""
    schema = harbor_ha.schema()
    defs = schema["$defs"]
    seen: set[str] = set()

    def objects(node: dict[str, Any], name: str) -> list[tuple[dict[str, Any], str]]:
        if "$ref" in node:
            ref = node["$ref"].rsplit("/", 1)[1]
            return objects(defs[ref], ref)
        if "properties" in node:
            return [(node, name)]
        out = []
        for key in ("anyOf", "oneOf"):
            for v in node.get(key, []):
                out += objects(v, name)
        if "items" in node:
            out += objects(node["items"], name)
        return out

    def check(node: dict[str, Any], td: Any) -> None:
        if td.__name__ in seen:
            return
        seen.add(td.__name__)
        props = node["properties"]
        assert set(props) == set(td.__required_keys__) | set(td.__optional_keys__), td.__name__
        assert set(node.get("required", [])) == set(td.__required_keys__), td.__name__
        hints = typing.get_type_hints(td)
        for key, sub in props.items():
            for obj, _ in objects(sub, key):
                candidates = [a for a in typing_args(hints[key]) if typing.is_typeddict(a)]
                match = [c for c in candidates if set(obj["properties"]) == set(c.__required_keys__) | set(c.__optional_keys__)]
                assert match, f"{td.__name__}.{key}: no TypedDict with the keys {sorted(obj['properties'])}"
                check(obj, match[0])

    check(schema, harbor_ha.TopologySpec)
    assert {"SiteSpec", "HostSpec", "HarborSpec", "EdgeSpec", "SecretEnv"} <= seen


def typing_args(t: Any) -> list[Any]:
    """`t` and every type inside it (unions, lists, dicts)."""
    out = [t]
    for a in typing.get_args(t):
        out += typing_args(a)
    return out


def test_stubtest(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "harbor_ha"], capture_output=True, text=True, cwd=tmp_path
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_usage_type_checks_strictly(tmp_path: Path) -> None:
    f = tmp_path / "usage.py"
    f.write_text("import harbor_ha.ansible\n" + USAGE)
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(f)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_py_typed_is_installed() -> None:
    assert (Path(harbor_ha.__file__).parent / "py.typed").exists()
    assert (Path(harbor_ha.__file__).parent / "_native.pyi").exists()
