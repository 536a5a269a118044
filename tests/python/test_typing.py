"""The package is typed: the hand-written stubs match the native module (stubtest), and code
using the API type-checks under mypy --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
    bundle.write(path.parent / "out", force=False)
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
