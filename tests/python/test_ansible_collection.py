"""The Ansible collection harbor_ha.ha: built with ansible-galaxy and installed from its tarball;
ansible-doc renders its module, whose DOCUMENTATION, EXAMPLES and RETURN are valid and match
its argument spec and results; --check --diff shows each changed file's unified diff (never a
secret) and writes nothing; the deploy playbook walks the bundle's hosts in install order.
(ansible-test sanity runs in `make ansible-sanity`; the deploy playbook runs for real in the
e2e part `--only ansible`.)"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import tarfile
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT, secret_env, seed_secrets, tree

COLLECTION = ROOT / "collections/ansible_collections/harbor_ha/ha"
MODULE = COLLECTION / "plugins/modules/bundle.py"
SEED = ROOT / "fixtures/examples/seed.yaml"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(
    not (BIN / "ansible-galaxy").exists() and os.environ.get("CI") != "true",
    reason="ansible-core is not installed in this environment (make test-python installs it)",
)


def ansible_env(tmp: Path, collections: Path) -> dict[str, str]:
    home = tmp / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "HOME": str(home),
        "LC_ALL": "C.UTF-8",
        "ANSIBLE_COLLECTIONS_PATH": str(collections),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCAL_TEMP": str(tmp / "ansible-local"),
        "ANSIBLE_REMOTE_TEMP": str(tmp / "ansible-remote"),
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        "ANSIBLE_PIPELINING": "1",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
    }


@pytest.fixture(scope="session")
def collection(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(tarball, collections path): the collection built from the source tree with
    `ansible-galaxy collection build` and installed from that tarball."""
    d = tmp_path_factory.mktemp("collection")
    env = ansible_env(d, d / "installed")
    r = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(d / "build"), str(COLLECTION)],
        capture_output=True, text=True, env=env,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    tarball = next((d / "build").glob("harbor_ha-ha-*.tar.gz"))
    r = subprocess.run(
        [str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "-p", str(d / "installed"), str(tarball)],
        capture_output=True, text=True, env=env,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return tarball, d / "installed"


def module_docs() -> dict[str, Any]:
    """DOCUMENTATION, EXAMPLES and RETURN of the module file, parsed as YAML."""
    tree_ = ast.parse(MODULE.read_text())
    out = {}
    for node in tree_.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
                out[name] = yaml.safe_load(ast.literal_eval(node.value))
    return out


def argument_spec() -> dict[str, dict[str, Any]]:
    """The module's argument_spec, read from its AnsibleModule(...) call (literal dicts)."""
    for node in ast.walk(ast.parse(MODULE.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "AnsibleModule":
            spec = next(k.value for k in node.keywords if k.arg == "argument_spec")
            assert isinstance(spec, ast.Call)
            return {
                k.arg: {kk.arg: ast.literal_eval(kk.value) for kk in k.value.keywords}  # type: ignore[attr-defined]
                for k in spec.keywords
                if k.arg
            }
    raise AssertionError("no AnsibleModule call in %s" % MODULE)


def test_the_tarball_holds_the_collection_at_the_workspace_version(collection: tuple[Path, Path]) -> None:
    tarball, installed = collection
    with tarfile.open(tarball) as t:
        names = set(t.getnames())
        manifest = json.load(t.extractfile("MANIFEST.json"))  # type: ignore[arg-type]
    info = manifest["collection_info"]
    version = tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]
    assert (info["namespace"], info["name"], info["version"]) == ("harbor_ha", "ha", version)
    assert info["license"] == ["Apache-2.0"]
    for f in ("plugins/modules/bundle.py", "playbooks/deploy.yml", "meta/runtime.yml", "README.md", "LICENSE"):
        assert f in names, f
    assert "tests/output" not in names
    runtime = yaml.safe_load((COLLECTION / "meta/runtime.yml").read_text())
    assert re.fullmatch(r">=2\.\d+(\.\d+)?", runtime["requires_ansible"])
    assert (installed / "ansible_collections/harbor_ha/ha/MANIFEST.json").exists()


def test_ansible_doc_renders_the_module(collection: tuple[Path, Path], tmp_path: Path) -> None:
    env = ansible_env(tmp_path, collection[1])
    r = subprocess.run([str(BIN / "ansible-doc"), "harbor_ha.ha.bundle"], capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "ERROR" not in r.stderr, r.stderr
    for word in ("MODULE harbor_ha.ha.bundle", "OPTIONS", "topology_dict", "EXAMPLES", "RETURN VALUES", "changed_files"):
        assert word in r.stdout, word
    r = subprocess.run([str(BIN / "ansible-doc"), "-j", "harbor_ha.ha.bundle"], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)["harbor_ha.ha.bundle"]
    assert doc["doc"]["module"] == "bundle" and doc["doc"]["collection"] == "harbor_ha.ha"
    assert set(doc["return"]) == {"dest", "files", "changed_files", "warnings_count", "diagnostics"}
    # The short name of the wheel's module is redirected to the collection's.
    r = subprocess.run(
        [str(BIN / "ansible-doc"), "harbor_ha.ha.harbor_ha_bundle"], capture_output=True, text=True, env=env
    )
    assert r.returncode == 0 and "harbor_ha.ha.bundle" in r.stdout, r.stdout + r.stderr


def test_documentation_matches_the_argument_spec() -> None:
    docs = module_docs()
    options = docs["DOCUMENTATION"]["options"]
    spec = argument_spec()
    assert set(options) == set(spec)
    for name, s in spec.items():
        o = options[name]
        assert o["type"] == s["type"], name
        assert o.get("required", False) == s.get("required", False), name
        assert o.get("default") == s.get("default"), name
        assert o["description"], name
    attrs = docs["DOCUMENTATION"]["attributes"]
    assert attrs["check_mode"]["support"] == "full" and attrs["diff_mode"]["support"] == "full"
    for name, r in docs["RETURN"].items():
        assert {"description", "type", "returned"} <= set(r), name


def test_examples_use_only_documented_options(collection: tuple[Path, Path], tmp_path: Path) -> None:
    docs = module_docs()
    options = set(docs["DOCUMENTATION"]["options"])
    tasks = docs["EXAMPLES"]
    assert tasks
    for task in tasks:
        args = task["harbor_ha.ha.bundle"]
        assert set(args) <= options, args
        assert task.get("delegate_to") == "localhost", task["name"]
    # And Ansible accepts them as tasks.
    book = tmp_path / "examples.yml"
    book.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    r = subprocess.run(
        [str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", str(book)],
        capture_output=True, text=True, env=ansible_env(tmp_path, collection[1]),
    )
    assert r.returncode == 0, r.stdout + r.stderr


def run_bundle(
    collection: tuple[Path, Path], tmp_path: Path, args: dict[str, Any], env: dict[str, str], *flags: str
) -> tuple[int, str, dict[str, Any]]:
    """Run harbor_ha.ha.bundle once (delegate_to: localhost); (rc, output, registered result)."""
    work = tmp_path / "play"
    work.mkdir(exist_ok=True)
    result = work / "result.json"
    result.unlink(missing_ok=True)
    (work / "play.yml").write_text(
        yaml.safe_dump(
            [
                {
                    "hosts": "all",
                    "gather_facts": False,
                    "tasks": [
                        {"harbor_ha.ha.bundle": args, "delegate_to": "localhost", "environment": env, "register": "r"},
                        {
                            "ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(result)},
                            "delegate_to": "localhost",
                            "check_mode": False,
                            "diff": False,
                            "changed_when": False,
                        },
                    ],
                }
            ]
        )
    )
    r = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "controller,", "-c", "local", "play.yml", *flags],
        cwd=work, capture_output=True, text=True, env=ansible_env(tmp_path, collection[1]), timeout=300,
    )
    out = r.stdout + r.stderr
    return r.returncode, out, json.loads(result.read_text()) if result.exists() else {}


def test_check_diff_shows_each_changed_file_and_never_a_secret(collection: tuple[Path, Path], tmp_path: Path) -> None:
    env = secret_env(SEED.read_text())
    dest = tmp_path / "bundle"
    args = {"topology": str(SEED), "dest": str(dest)}
    # First render, in check mode with diff: every file is new; nothing is written.
    rc, out, res = run_bundle(collection, tmp_path, args, env, "--check", "--diff")
    assert rc == 0 and res["changed"], out
    assert not dest.exists()
    for secret in env.values():
        assert secret not in out, "a secret in the --diff output"
    assert f"--- before: /dev/null\n+++ after: {dest}/README.md\n" in out, out[:2000]
    assert f"/dev/null -> {dest}/hosts/harbor-1/files/usr/local/harbor/harbor.yml: content holds a secret, not shown" in out
    assert len(res["diff"]) == len(res["changed_files"]) == res["files"] + 2  # + the marker and the manifest

    rc, out, res = run_bundle(collection, tmp_path, args, env)
    assert rc == 0 and res["changed"], out
    written = tree(dest)
    rc, out, res = run_bundle(collection, tmp_path, args, env, "--diff")
    assert rc == 0 and not res["changed"] and res["diff"] == [] and res["changed_files"] == [], out

    # Files changed by hand: a text file (its unified diff), a secret file (only that it
    # changed), a mode (a note): --check --diff shows each and puts nothing back.
    conf = dest / "hosts/lb-1/files/etc/nginx/conf.d/harbor.conf"
    conf.write_text(conf.read_text().replace("client_max_body_size 0;", "client_max_body_size 1m;"))
    yml = dest / "hosts/harbor-1/files/usr/local/harbor/harbor.yml"
    yml.write_text(yml.read_text() + "# edited\n")
    script = dest / "hosts/lb-1/install.sh"
    script.chmod(0o644)
    edited = tree(dest)
    rc, out, res = run_bundle(collection, tmp_path, args, env, "--check", "--diff")
    assert rc == 0 and res["changed"], out
    assert res["changed_files"] == [
        "hosts/harbor-1/files/usr/local/harbor/harbor.yml",
        "hosts/lb-1/files/etc/nginx/conf.d/harbor.conf",
        "hosts/lb-1/install.sh",
    ]
    assert f"--- before: {conf}" in out and f"+++ after: {conf}" in out, out
    assert re.search(r"^-.*client_max_body_size 1m;$", out, re.M) and re.search(r"^\+.*client_max_body_size 0;$", out, re.M), out
    assert f"{yml} -> {yml}: content holds a secret, not shown (sha256:" in out
    assert "# edited" not in out
    assert f"{script}: mode 0644 -> 0755" in out
    for secret in env.values():
        assert secret not in out
    assert tree(dest) == edited, "--check wrote files"

    # Without --check: put back, and the next run is ok.
    rc, out, res = run_bundle(collection, tmp_path, args, env)
    assert rc == 0 and res["changed"] and tree(dest) == written, out
    rc, out, res = run_bundle(collection, tmp_path, args, env)
    assert rc == 0 and not res["changed"], out


def test_deploy_walks_every_site_in_install_order_and_refuses_a_foreign_inventory(
    collection: tuple[Path, Path], tmp_path: Path, secrets_template: Path
) -> None:
    """--check on a three-site bundle (local connection: check mode runs no install.sh)."""
    fixture = ROOT / "fixtures/valid/hierarchy-three-sites.yaml"
    env = secret_env(fixture.read_text())
    dest = tmp_path / "bundle"
    # Stored secrets: no key generation for the three sites.
    seed_secrets(secrets_template, dest / "secrets", ["hq", "region-eu", "edge-fra"])
    rc, out, _ = run_bundle(collection, tmp_path, {"topology": str(fixture), "dest": str(dest), "force": True}, env)
    assert rc == 0, out
    extra = {"ansible_connection": "local", "ansible_become": False, "harbor_ha_remote_dir": str(tmp_path / "remote")}
    (tmp_path / "extra.json").write_text(json.dumps(extra))
    aenv = ansible_env(tmp_path, collection[1])
    cmd = [str(BIN / "ansible-playbook"), "-i", str(dest / "inventory.ini"), "harbor_ha.ha.deploy", "-e", f"@{tmp_path / 'extra.json'}"]
    r = subprocess.run(cmd + ["--check"], capture_output=True, text=True, env=aenv, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    order = re.findall(r"^TASK \[Run install\.sh\][^\n]*\n(?:\w+): \[([^\]]+)\]", r.stdout, re.M)
    # inventory.ini: site by site, each in its install order (harbor_ha_order).
    sites = re.findall(r"^\[(site_[a-z_]+)\]\n((?:[^\n]+\n)+)", (dest / "inventory.ini").read_text(), re.M)
    want = [line.split()[0] for _, block in sites for line in block.splitlines()]
    assert order == want == ["hq-db", "hq-node-1", "hq-node-2", "hq-lb", "eu-node", "eu-lb", "fra-node"], r.stdout
    assert not (tmp_path / "remote").exists(), "--check copied files"

    # An inventory without its bundle beside it: the first host fails, nothing else runs.
    foreign = tmp_path / "elsewhere"
    foreign.mkdir()
    (foreign / "inventory.ini").write_text((dest / "inventory.ini").read_text())
    cmd[2] = str(foreign / "inventory.ini")
    r = subprocess.run(cmd + ["--check"], capture_output=True, text=True, env=aenv, timeout=300)
    assert r.returncode != 0, r.stdout
    assert "hosts/hq-db/install.sh is missing" in r.stdout and "hq-node-1" not in r.stdout.split("PLAY RECAP")[0], r.stdout
