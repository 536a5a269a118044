"""Bad input gives a typed exception with diagnostics, never a bare Exception or a crash."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import ROOT

import harbor_ha

SEED = (ROOT / "fixtures/examples/seed.yaml").read_text()


def parse_errors(call: Any, *args: Any) -> list[harbor_ha.Diagnostic]:
    """Every HA001 of input that does not parse (all structural errors come at once)."""
    with pytest.raises(harbor_ha.ValidationError) as info:
        call(*args)
    err = info.value
    assert isinstance(err, ValueError)
    assert len(err.diagnostics) >= 1
    for d in err.diagnostics:
        assert d.code == "HA001" and d.severity == "error" and d.hint
        assert d.hint in str(err)
    assert "HA001" in str(err)
    return list(err.diagnostics)


def parse_error(call: Any, *args: Any) -> harbor_ha.Diagnostic:
    """The one HA001 of input with one problem."""
    diags = parse_errors(call, *args)
    assert len(diags) == 1, diags
    return diags[0]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n",
        "version: 1\nsites: [",
        "\x00\x01",
        "- a\n- b\n",
        "a: *x\n",
        "version: 1\nsites: 3\n",
        "version: 1\nsites:\n  - name: a\n    colour: blue\n",
        "version: 2\nsites: []\n",
        "version: 1\nsites: []\n---\nversion: 1\nsites: []\n",
        "version: 1\nsites: " + "[" * 10000 + "]" * 10000 + "\n",
    ],
    ids=[
        "empty",
        "blank",
        "unclosed",
        "binary",
        "sequence",
        "alias",
        "wrong-type",
        "unknown-key",
        "version",
        "two-documents",
        "deep",
    ],
)
def test_junk_text_is_ha001_with_line_and_column(text: str) -> None:
    for d in parse_errors(harbor_ha.loads, text):
        assert d.line is not None and d.line >= 1
        assert d.column is not None and d.column >= 1


def test_unknown_key_names_key_path_line_and_column() -> None:
    diags = parse_errors(harbor_ha.loads, "version: 1\nsites:\n  - name: a\n    colour: blue\n")
    d = next(d for d in diags if d.path == "sites[0].colour")
    assert "unknown key `colour`" in d.message
    assert (d.line, d.column) == (4, 5)
    # The missing keys of that site come in the same run, at the site.
    assert {x.path for x in diags} >= {"sites[0].harbor", "sites[0].network", "sites[0].hosts"}


def test_wrong_type_in_a_file(tmp_path: Path) -> None:
    f = tmp_path / "t.yaml"
    assert SEED.count("port: 5432") == 1
    f.write_text(SEED.replace("port: 5432", "port: five"))
    d = parse_error(harbor_ha.load, f)
    assert d.path == "sites[0].database.port" and "expected an integer" in d.message
    lines = SEED.splitlines()
    line = next(i for i, x in enumerate(lines) if "port: 5432" in x)
    assert (d.line, d.column) == (line + 1, lines[line].index("5432") + 1)


def test_not_utf8_file(tmp_path: Path) -> None:
    f = tmp_path / "t.yaml"
    f.write_bytes(b"version: 1\nsites:\n  - name: \xff\n")
    d = parse_error(harbor_ha.load, f)
    assert "UTF-8" in d.message and (d.line, d.column) == (3, 11)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        harbor_ha.load(tmp_path / "nope.yaml")
    assert info.value.filename == str(tmp_path / "nope.yaml")
    with pytest.raises(IsADirectoryError):
        harbor_ha.load(tmp_path)


@pytest.mark.parametrize(
    ("mutate", "path", "words"),
    [
        (lambda d: d["sites"][0].__setitem__("hosts", 3), "sites[0].hosts", "expected a list"),
        (lambda d: d["sites"][0]["hosts"][1].__setitem__("http_port", "80"), "sites[0].hosts[1].http_port", "expected an integer"),
        (lambda d: d["sites"][0].__setitem__("colour", "blue"), "sites[0].colour", "unknown key `colour`"),
        (lambda d: d.__setitem__("version", 2), "version", "version 2"),
        (lambda d: d.pop("sites"), "sites", "missing the required key `sites`"),
        (lambda d: d["sites"][0].__setitem__("name", b"prod"), "sites[0].name", "bytes"),
        (lambda d: d["sites"][0].__setitem__("network", {1: "x"}), "sites[0].network", "keys must be strings"),
        (lambda d: d["sites"][0]["hosts"][0].__setitem__("roles", {"nfs"}), "sites[0].hosts[0].roles", "set"),
        (lambda d: d["sites"][0]["hosts"][1].__setitem__("http_port", float("nan")), "sites[0].hosts[1].http_port", "NaN"),
        (lambda d: d["sites"][0]["hosts"][1].__setitem__("http_port", 10**30), "sites[0].hosts[1].http_port", "range"),
        (lambda d: d["sites"][0].__setitem__("name", "\ud800"), "sites[0].name", "Unicode"),
    ],
    ids=[
        "int-for-list",
        "str-for-int",
        "unknown-key",
        "version",
        "missing-key",
        "bytes",
        "int-key",
        "set",
        "nan",
        "huge-int",
        "surrogate",
    ],
)
def test_from_dict_wrong_types_are_ha001_with_a_path(mutate: Any, path: str, words: str) -> None:
    data = yaml.safe_load(SEED)
    mutate(data)
    d = parse_error(harbor_ha.from_dict, data)
    assert d.path == path or (path and d.path.startswith(path)), d
    assert words in d.message
    assert d.line is None and d.column is None


def test_from_dict_non_mapping_and_self_reference() -> None:
    parse_error(harbor_ha.from_dict, [1, 2])
    loop: dict[str, Any] = {"version": 1}
    loop["sites"] = [loop]
    assert "deeply" in parse_error(harbor_ha.from_dict, loop).message


def test_from_dict_takes_any_mapping_and_tuples() -> None:
    import types

    data = yaml.safe_load(SEED)
    data["sites"][0]["hosts"] = tuple(data["sites"][0]["hosts"])
    t = harbor_ha.from_dict(types.MappingProxyType(data))
    assert t.sites == ["prod"]
    # The same findings; a dict's diagnostics have no position to sort them by, so compare as sets.
    assert sorted((d.code, d.path) for d in t.validate()) == sorted((d.code, d.path) for d in harbor_ha.loads(SEED).validate())


def test_invalid_topology_validates_and_refuses_to_render() -> None:
    text = (ROOT / "fixtures/rules/HA003/trigger.yaml").read_text()
    t = harbor_ha.loads(text)  # parses fine
    diags = t.validate()
    ha003 = [d for d in diags if d.code == "HA003"]
    assert ha003 and ha003[0].is_error and ha003[0].line is not None and ha003[0].column is not None
    with pytest.raises(harbor_ha.ValidationError) as info:
        t.render()
    assert "HA003" in [d.code for d in info.value.diagnostics]
    assert "HA003" in str(info.value) and "hint:" in str(info.value)


def test_unresolvable_secret_is_sc002_at_render(monkeypatch: pytest.MonkeyPatch, seed_secrets_dir: Path) -> None:
    for k in ("HARBOR_ADMIN_PASSWORD", "HARBOR_DB_PASSWORD", "HARBOR_REDIS_PASSWORD"):
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(harbor_ha.ValidationError) as info:
        harbor_ha.loads(SEED).render(secrets_dir=seed_secrets_dir)
    d = info.value.diagnostics[0]
    assert d.code == "SC002" and d.line is not None
    assert "HARBOR_" in d.message


def test_malformed_stored_secrets(seed_env: dict[str, str], seed_secrets_dir: Path) -> None:
    t = harbor_ha.loads(SEED)
    (seed_secrets_dir / "prod/core_secret").write_text("short\n")
    with pytest.raises(ValueError, match="core_secret.*malformed") as info:
        t.render(secrets_dir=seed_secrets_dir)
    assert "short" not in str(info.value)
    # A file missing (a directory written by an older version): generated, the rest kept.
    (seed_secrets_dir / "prod/core_secret").unlink()
    kept = (seed_secrets_dir / "prod/csrf_key").read_text()
    b = t.render(secrets_dir=seed_secrets_dir)
    assert len(b["secrets/prod/core_secret"].content.strip()) == 16
    assert b["secrets/prod/csrf_key"].content == kept
    # A file that exists but cannot be read: the OS error, naming the file.
    (seed_secrets_dir / "prod/core_secret").mkdir()
    with pytest.raises(IsADirectoryError, match="core_secret"):
        t.render(secrets_dir=seed_secrets_dir)


def test_exception_hierarchy() -> None:
    assert issubclass(harbor_ha.ValidationError, ValueError)
    assert issubclass(harbor_ha.InternalError, RuntimeError)
    assert not issubclass(harbor_ha.InternalError, harbor_ha.ValidationError)


def test_wrong_argument_types_are_type_errors() -> None:
    with pytest.raises(TypeError):
        harbor_ha.loads(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        harbor_ha.load(None)  # type: ignore[arg-type]


def test_a_panic_is_an_internal_error_not_a_crash() -> None:
    from harbor_ha import _native

    with pytest.raises(harbor_ha.InternalError, match="internal error.*boom"):
        _native._panic("boom")  # type: ignore[attr-defined]
