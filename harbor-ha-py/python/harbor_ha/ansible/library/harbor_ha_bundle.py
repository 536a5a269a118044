#!/usr/bin/python
# Copyright: harbor-ha contributors
# Apache-2.0
"""Ansible module: render a harbor-ha deployment bundle into a directory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: harbor_ha_bundle
short_description: Render the deployment bundle of a highly available Harbor topology
description:
  - Validates a harbor-ha topology and writes its bundle (configs, install scripts, runbook)
    into O(dest), exactly as C(harbor-ha render TOPOLOGY --out DEST) does.
  - Harbor's shared secrets are read from O(secrets_dir) (default C(DEST/secrets)) when a
    previous run left them there, so running again never rotates them.
  - Reports C(changed) only when a file's content or mode differs from what is in O(dest).
  - C({env: VAR}) secrets of the topology are read from the module's environment (use the
    C(environment) keyword); C({file: PATH}) secrets from the managed host.
requirements:
  - the C(harbor_ha) Python package on the managed host (C(pip install harbor-ha)); run the
    module with that interpreter (C(ansible_python_interpreter)).
options:
  topology:
    description: Path of the topology file on the managed host.
    type: path
  topology_dict:
    description: The topology inline, as data (the same keys as the YAML file).
    type: dict
  dest:
    description: Directory to write the bundle into. It is replaced as a whole.
    type: path
    required: true
  secrets_dir:
    description: Where existing shared secrets are read from (C(<secrets_dir>/<site>/...)).
    type: path
  force:
    description: Replace O(dest) even when it is not empty and not a previous bundle.
    type: bool
    default: false
notes:
  - Supports check mode.
  - Keep secrets out of O(topology_dict) (use C({env: VAR}) or C({file: PATH})): module
    arguments appear in verbose output.
  - The failure message lists one finding per line; C(ANSIBLE_CALLBACK_RESULT_FORMAT=yaml)
    shows it as lines rather than JSON escapes.
"""

EXAMPLES = r"""
- name: Render the Harbor HA bundle
  harbor_ha_bundle:
    topology: /etc/harbor-ha/topology.yaml
    dest: /srv/harbor-ha/bundle
  environment:
    HARBOR_ADMIN_PASSWORD: "{{ vault_harbor_admin_password }}"
"""

RETURN = r"""
dest:
  description: The bundle directory.
  type: str
  returned: always
files:
  description: Number of files in the bundle.
  type: int
  returned: success
changed_files:
  description: Relative paths whose content or mode changed, was added or removed.
  type: list
  elements: str
  returned: success
warnings_count:
  description: Number of validation warnings (each is also reported as an Ansible warning).
  type: int
  returned: success
diagnostics:
  description: On failure, every finding (code, severity, message, hint, path, line, column).
  type: list
  elements: dict
  returned: failure
"""

import os
import stat

from ansible.module_utils.basic import AnsibleModule, missing_required_lib  # type: ignore

try:
    import harbor_ha

    HAS_HARBOR_HA = True
except ImportError:  # reported through fail_json
    HAS_HARBOR_HA = False

MARKER = ".harbor-ha-bundle"


def _changes(bundle, dest):
    """Relative paths whose content or mode differ between `bundle` and the files in `dest`."""
    changed = []
    for rel, f in bundle.items():
        p = os.path.join(dest, rel)
        try:
            with open(p, "rb") as fh:
                same = fh.read() == f.content.encode("utf-8")
            same = same and stat.S_IMODE(os.stat(p).st_mode) == f.mode
        except OSError:
            same = False
        if not same:
            changed.append(rel)
    # Files that the new bundle no longer has would disappear when dest is replaced.
    if os.path.isdir(dest):
        for root, _dirs, files in os.walk(dest):
            for name in files:
                rel = os.path.relpath(os.path.join(root, name), dest)
                if rel != MARKER and rel not in bundle:
                    changed.append(rel)
        if not os.path.exists(os.path.join(dest, MARKER)):
            changed.append(MARKER)
    else:
        changed.append(MARKER)
    return sorted(set(changed))


def _fail(module, what, err):
    """Fail with every diagnostic, one per line with its hint, and as data."""
    diags = list(getattr(err, "diagnostics", []))
    lines = ["%s:" % what] + ["  %s\n    hint: %s" % (d, d.hint) for d in diags]
    module.fail_json(msg="\n".join(lines), diagnostics=[d.to_dict() for d in diags])


def main():
    module = AnsibleModule(
        argument_spec=dict(
            topology=dict(type="path"),
            topology_dict=dict(type="dict"),
            dest=dict(type="path", required=True),
            secrets_dir=dict(type="path"),
            force=dict(type="bool", default=False),
        ),
        mutually_exclusive=[("topology", "topology_dict")],
        required_one_of=[("topology", "topology_dict")],
        supports_check_mode=True,
    )
    if not HAS_HARBOR_HA:
        module.fail_json(msg=missing_required_lib("harbor_ha (pip install harbor-ha)"))
    p = module.params
    dest = p["dest"]
    secrets_dir = p["secrets_dir"] or os.path.join(dest, "secrets")

    try:
        topo = harbor_ha.load(p["topology"]) if p["topology"] else harbor_ha.from_dict(p["topology_dict"])
    except harbor_ha.ValidationError as e:
        _fail(module, "the topology does not parse", e)
    except OSError as e:
        module.fail_json(msg="cannot read the topology: %s" % e)

    warnings = [d for d in topo.validate() if not d.is_error]
    for d in warnings:
        module.warn(str(d))
    try:
        bundle = topo.render(secrets_dir=secrets_dir)
    except harbor_ha.ValidationError as e:
        _fail(module, "the topology has errors", e)
    except (OSError, ValueError, RuntimeError) as e:
        module.fail_json(msg="cannot render the bundle: %s" % e)

    changed_files = _changes(bundle, dest)
    if changed_files and not module.check_mode:
        try:
            bundle.write(dest, force=p["force"])
        except OSError as e:
            module.fail_json(msg="cannot write the bundle: %s" % e)
    module.exit_json(
        changed=bool(changed_files),
        dest=dest,
        files=len(bundle),
        changed_files=changed_files,
        warnings_count=len(warnings),
    )


if __name__ == "__main__":
    main()
