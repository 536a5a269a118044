"""The ``harbor_ha_bundle`` Ansible module, shipped with the package.

It is the module ``harbor_ha.ha.bundle`` of the Ansible collection ``harbor_ha.ha``
(``collections/ansible_collections/harbor_ha/ha`` in the repository, ``make
ansible-collection``): prefer the collection, which also deploys the bundle (playbook
``harbor_ha.ha.deploy``). This copy serves playbooks that use the library path.

Ansible finds modules in a library directory; point it at this one::

    ANSIBLE_LIBRARY=$(python -c 'import harbor_ha.ansible as a; print(a.LIBRARY)') ansible-playbook ...

and run the module with the interpreter that has ``harbor_ha`` installed
(``ansible_python_interpreter``). See ``harbor-ha-py/examples/ansible/playbook.yml``.
"""

import os

#: The directory holding ``harbor_ha_bundle.py``.
LIBRARY: str = os.path.join(os.path.dirname(os.path.abspath(__file__)), "library")

__all__ = ["LIBRARY"]
