# harbor-ha e2e: an Ansible connection to a simulated host of the e2e rig (tests/e2e/lib/ansible.sh).
# A host is a disposable root (an overlay of this machine, mounted on the controller) run in
# the host's own network namespace: commands go through the host's wrapper
# (ip netns exec NS unshare -m ... lib/in-root.sh ROOT ... CMD), files are copied into or out
# of the root's mount point. The same idea as community.general.chroot, which is not installed
# here (no Galaxy access), plus the network namespace.
from __future__ import annotations

DOCUMENTATION = """
name: e2e_root
short_description: run in a disposable root and network namespace of the harbor-ha e2e rig
description:
  - Commands run through O(wrapper) (which enters the host's namespace and chroots into its
    root); files are copied under O(root) on the controller.
author: harbor-ha contributors
options:
  wrapper:
    description: Executable that runs its arguments as a command inside the host.
    type: path
    required: true
    vars:
      - name: harbor_ha_e2e_wrapper
  root:
    description: The host's root directory, as mounted on the controller.
    type: path
    required: true
    vars:
      - name: harbor_ha_e2e_root
"""

import os
import shutil
import subprocess

from ansible.errors import AnsibleError, AnsibleFileNotFound
from ansible.module_utils.common.text.converters import to_bytes
from ansible.plugins.connection import ConnectionBase


class Connection(ConnectionBase):
    transport = "e2e_root"
    has_pipelining = True
    default_user = "root"

    def _connect(self):
        self._connected = True
        return self

    def _inside(self, path):
        """The controller's path of PATH inside the host's root."""
        if not os.path.isabs(path):
            raise AnsibleError("e2e_root: a relative remote path: %s" % path)
        return os.path.join(self.get_option("root"), path.lstrip("/"))

    def exec_command(self, cmd, in_data=None, sudoable=True):
        super().exec_command(cmd, in_data=in_data, sudoable=sudoable)
        argv = [self.get_option("wrapper"), "/bin/sh", "-c", cmd]
        self._display.vvv("E2E_ROOT EXEC %s" % argv, host=self._play_context.remote_addr)
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        out, err = p.communicate(in_data)
        return p.returncode, out, err

    def put_file(self, in_path, out_path):
        super().put_file(in_path, out_path)
        if not os.path.exists(to_bytes(in_path)):
            raise AnsibleFileNotFound("file or module does not exist: %s" % in_path)
        dest = self._inside(out_path)
        try:
            shutil.copyfile(in_path, dest)
        except OSError as e:
            raise AnsibleError("e2e_root: cannot copy %s to %s: %s" % (in_path, dest, e))

    def fetch_file(self, in_path, out_path):
        super().fetch_file(in_path, out_path)
        try:
            shutil.copyfile(self._inside(in_path), out_path)
        except OSError as e:
            raise AnsibleError("e2e_root: cannot fetch %s: %s" % (in_path, e))

    def close(self):
        self._connected = False
