#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: harbor-ha contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Ansible module harbor_ha.ha.bundle: render a harbor-ha deployment bundle into a directory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: bundle
short_description: Render the deployment bundle of a highly available Harbor topology
version_added: 0.1.0
author:
  - harbor-ha contributors (!UNKNOWN)
description:
  - Validates a harbor-ha topology and writes its bundle (configs, install scripts, runbook,
    C(inventory.ini)) into O(dest), exactly as C(harbor-ha render TOPOLOGY --out DEST) does.
  - Harbor's shared secrets are read from O(secrets_dir) (default C(DEST/secrets)) when a
    previous run left them there, so running again never rotates them.
  - Reports C(changed) only when a file's content or mode differs from what is in O(dest).
  - With C(--diff), returns the unified diff of each changed file. The content of files that
    hold a secret (mode C(0600)) is never shown, only that it changed.
  - "C({env: VAR}) secrets of the topology are read from the module's environment (use the
    C(environment) keyword); C({file: PATH}) secrets from the host that runs the module."
  - "The module needs the C(harbor_ha) Python package only where it runs. Run it on the
    controller with C(delegate_to: localhost) (the managed hosts need nothing); then deploy
    the bundle with the C(harbor_ha.ha.deploy) playbook."
requirements:
  - "the C(harbor_ha) Python package (C(pip install harbor-ha)) for the interpreter that runs
    the module (C(ansible_python_interpreter)), on the host that runs it (usually the
    controller, with C(delegate_to: localhost))."
options:
  topology:
    description: Path of the topology file (on the host that runs the module).
    type: path
  topology_dict:
    description: The topology inline, as data (the same keys as the YAML file).
    type: dict
  dest:
    description: Directory to write the bundle into. Only the files that differ are replaced,
      and C(MANIFEST.sha256) (every file's SHA-256 and mode) is written last. Files edited by
      hand in a previous bundle are put back, as M(ansible.builtin.copy) does (C(--check
      --diff) shows them first); a stored secret is replaced with another value only with
      O(force).
    type: path
    required: true
  secrets_dir:
    description: Where existing shared secrets are read from (C(<secrets_dir>/<site>/...)).
    type: path
  force:
    description: Replace O(dest) even when it is not empty and not a previous bundle.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reports what would change (and the diff with C(--diff)); writes nothing.
  diff_mode:
    support: full
    description: One unified diff per changed file; secret files show only that they changed.
  platform:
    support: full
    platforms: posix
    description: "Runs where the topology is, usually the controller (C(delegate_to: localhost))."
notes:
  - "Keep secrets out of O(topology_dict) (use C({env: VAR}) or C({file: PATH})): module
    arguments appear in verbose output."
  - The failure message lists one finding per line; C(ANSIBLE_CALLBACK_RESULT_FORMAT=yaml)
    shows it as lines rather than JSON escapes.
seealso:
  - name: harbor-ha README
    description: The topology file, the rule catalog and the bundle's layout.
    link: https://pypi.org/project/harbor-ha/
"""

EXAMPLES = r"""
- name: Render the Harbor HA bundle on the controller
  harbor_ha.ha.bundle:
    topology: /etc/harbor-ha/topology.yaml
    dest: /srv/harbor-ha/bundle
  delegate_to: localhost
  run_once: true
  environment:
    HARBOR_ADMIN_PASSWORD: "{{ vault_harbor_admin_password }}"
    HARBOR_DB_PASSWORD: "{{ vault_harbor_db_password }}"
    HARBOR_REDIS_PASSWORD: "{{ vault_harbor_redis_password }}"

- name: Show what a new topology would change, without writing (run with --check --diff)
  harbor_ha.ha.bundle:
    topology: topology.yaml
    dest: bundle
  delegate_to: localhost
  check_mode: true
  diff: true
  register: preview
"""

RETURN = r"""
dest:
  description: The bundle directory.
  type: str
  returned: always
  sample: /srv/harbor-ha/bundle
files:
  description: Number of files in the bundle.
  type: int
  returned: success
  sample: 58
changed_files:
  description: Relative paths whose content or mode changed, was added or removed.
  type: list
  elements: str
  returned: success
  sample: ["hosts/lb-1/files/etc/nginx/conf.d/harbor.conf"]
warnings_count:
  description: Number of validation warnings (each is also reported as an Ansible warning).
  type: int
  returned: success
  sample: 0
diagnostics:
  description: On failure, every finding (code, severity, message, hint, path, line, column).
  type: list
  elements: dict
  returned: failure
  sample: [{"code": "HA003", "severity": "error", "message": "...", "hint": "...",
            "path": "sites[0].hosts[2].address", "line": 12, "column": 14}]
"""

import hashlib
import os
import stat

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # type: ignore
from ansible.module_utils.common.text.converters import to_text  # type: ignore

try:
    import harbor_ha

    HAS_HARBOR_HA = True
except ImportError:  # reported through fail_json
    HAS_HARBOR_HA = False

MARKER = ".harbor-ha-bundle"
# The writer's own files beside the bundle's: the manifest (written last) and the journal of
# a write that did not finish (the next write completes it).
MANIFEST = "MANIFEST.sha256"
PENDING = ".harbor-ha-pending"
# Bigger files are reported as changed without their text.
DIFF_MAX_BYTES = 256 * 1024


def _read(path):
    """(bytes, mode) of the file at `path`, or (None, None) when there is none."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
        return data, stat.S_IMODE(os.stat(path).st_mode)
    except (IOError, OSError):
        return None, None


def _is_secret(mode):
    """A file readable by its owner only holds a secret (the bundle's secret files are 0600)."""
    return mode is not None and mode & 0o077 == 0


def _changes(bundle, dest):
    """{relative path: (old bytes or None, old mode, new bytes or None, new mode)} for every
    path whose content or mode differs between `bundle` and the files in `dest`."""
    changed = {}
    for rel, f in bundle.items():
        old, old_mode = _read(os.path.join(dest, rel))
        new = f.content.encode("utf-8")
        if old != new or old_mode != f.mode:
            changed[rel] = (old, old_mode, new, f.mode)
    # Files that the new bundle no longer has are removed by the write.
    if os.path.isdir(dest):
        for root, _dirs, files in os.walk(dest):
            for name in files:
                rel = os.path.relpath(os.path.join(root, name), dest)
                if rel not in (MARKER, MANIFEST, PENDING) and rel not in bundle:
                    old, old_mode = _read(os.path.join(root, name))
                    changed[rel] = (old, old_mode, None, None)
    for own in (MARKER, MANIFEST):
        if not os.path.exists(os.path.join(dest, own)):
            changed[own] = (None, None, b"", 0o644)
    if os.path.exists(os.path.join(dest, PENDING)):
        changed[PENDING] = (b"", 0o644, None, None)
    return changed


def _replaces_a_secret(changes):
    """Whether `changes` replace a file under secrets/ with other content."""
    return any(
        rel.startswith("secrets/") and old is not None and new is not None and old != new
        for rel, (old, _old_mode, new, _new_mode) in changes.items()
    )


def _digest(data):
    return "sha256:%s" % hashlib.sha256(data).hexdigest()[:16] if data is not None else "absent"


def _fmt_mode(mode):
    return "%04o" % mode if mode is not None else "-"


def _diff_entry(dest, rel, change):
    """One entry of the `diff` result: a unified diff of the text (before/after; the headers
    name the modes when they changed), or a prepared note when the text is not shown (a secret,
    a big file) or only the mode changed."""
    old, old_mode, new, new_mode = change
    path = os.path.join(dest, rel)
    before_header = path if old is not None else "/dev/null"
    after_header = path if new is not None else "/dev/null"
    if old is not None and new is not None and old_mode != new_mode:
        before_header += " (mode %s)" % _fmt_mode(old_mode)
        after_header += " (mode %s)" % _fmt_mode(new_mode)
    hidden = _is_secret(old_mode) or _is_secret(new_mode)
    big = max(len(old or b""), len(new or b"")) > DIFF_MAX_BYTES
    if old != new and not hidden and not big:
        return {
            "before_header": before_header,
            "after_header": after_header,
            "before": to_text(old or b"", errors="surrogate_or_replace"),
            "after": to_text(new or b"", errors="surrogate_or_replace"),
        }
    if old == new:
        note = "%s: mode %s -> %s" % (path, _fmt_mode(old_mode), _fmt_mode(new_mode))
    else:
        why = "holds a secret, not shown" if hidden else "too big to show"
        note = "%s -> %s: content %s (%s -> %s)" % (before_header, after_header, why, _digest(old), _digest(new))
    return {"prepared": note + "\n"}


def _fail(module, what, err):
    """Fail with every diagnostic, one per line with its hint, and as data."""
    diags = list(getattr(err, "diagnostics", []))
    lines = ["%s:" % what] + ["  %s\n    hint: %s" % (d, d.hint) for d in diags]
    module.fail_json(msg="\n".join(lines), diagnostics=[d.to_dict() for d in diags])


def _render(module):
    """(bundle, warnings) of the module's topology; fails the module on errors."""
    p = module.params
    secrets_dir = p["secrets_dir"] or os.path.join(p["dest"], "secrets")
    try:
        topo = harbor_ha.load(p["topology"]) if p["topology"] else harbor_ha.from_dict(p["topology_dict"])
    except harbor_ha.ValidationError as e:
        _fail(module, "the topology does not parse", e)
    except (IOError, OSError) as e:
        module.fail_json(msg="cannot read the topology: %s" % to_text(e))
    warnings = [d for d in topo.validate() if not d.is_error]
    try:
        bundle = topo.render(secrets_dir=secrets_dir)
    except harbor_ha.ValidationError as e:
        _fail(module, "the topology has errors", e)
    except (IOError, OSError, ValueError, RuntimeError) as e:
        module.fail_json(msg="cannot render the bundle: %s" % to_text(e))
    return bundle, warnings


def main():
    module = AnsibleModule(
        argument_spec=dict(
            topology=dict(type="path"),
            topology_dict=dict(type="dict"),
            dest=dict(type="path", required=True),
            secrets_dir=dict(type="path", no_log=False),
            force=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("topology", "topology_dict")],
        required_one_of=[("topology", "topology_dict")],
        supports_check_mode=True,
    )
    if not HAS_HARBOR_HA:
        module.fail_json(msg=missing_required_lib("harbor_ha", url="https://pypi.org/project/harbor-ha/"))
    dest = module.params["dest"]
    bundle, warnings = _render(module)
    for d in warnings:
        module.warn(str(d))

    changes = _changes(bundle, dest)
    if changes and not module.check_mode:
        # harbor-ha render refuses to overwrite a hand edit; this module converges, as Ansible's
        # file modules do, but a stored secret is still replaced only with force.
        force = module.params["force"] or (
            os.path.exists(os.path.join(dest, MARKER)) and not _replaces_a_secret(changes)
        )
        try:
            bundle.write(dest, force=force)
        except (IOError, OSError) as e:
            module.fail_json(msg="cannot write the bundle: %s" % to_text(e))
    result = dict(
        changed=bool(changes),
        dest=dest,
        files=len(bundle),
        changed_files=sorted(changes),
        warnings_count=len(warnings),
    )
    if module._diff:
        result["diff"] = [_diff_entry(dest, rel, changes[rel]) for rel in sorted(changes)]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
