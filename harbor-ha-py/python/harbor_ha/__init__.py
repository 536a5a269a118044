"""Validate a highly available Harbor registry topology and render its deployment bundle.

The same core as the ``harbor-ha`` command, so the same diagnostics and the same files,
byte for byte::

    import harbor_ha

    topo = harbor_ha.load("topology.yaml")        # or loads(text), from_dict(data)
    for d in topo.validate():
        print(d)                                  # HA003 error at sites[0]... (line 9, column 18): ...
    bundle = topo.render(secrets_dir="out/secrets")   # raises ValidationError on errors
    result = bundle.write("out")                  # as `harbor-ha render topology.yaml --out out`
    print(result.outcome, result.created, result.changed, result.removed)

    topo.to_dict()                                # plain data; from_dict(topo.to_dict()) is the same topology
    topo.plan()                                   # as `harbor-ha plan topology.yaml --format json`
    topo.plan(from_=harbor_ha.load("running.yaml"))   # as `harbor-ha plan --from running.yaml topology.yaml --format json`
    topo.render(secrets={"HARBOR_DB_PASSWORD": "..."})  # {env: X} secrets from the mapping, not the environment
    harbor_ha.schema()                            # as `harbor-ha schema`

    report = harbor_ha.import_tree("collected")   # as `harbor-ha import collected --format json`
    changes = harbor_ha.drift("out", "collected") # as `harbor-ha drift out collected --format json`
"""

from collections.abc import Mapping as _Mapping

from harbor_ha._native import (
    EXAMPLES,
    Bundle,
    Diagnostic,
    File,
    InternalError,
    Rule,
    Topology,
    ValidationError,
    WriteResult,
    __version__,
    collect_script,
    drift,
    example,
    explain,
    from_dict,
    import_tree,
    load,
    loads,
    rules,
    schema,
)
from harbor_ha.spec import TopologySpec

# A Bundle is a read-only mapping: let isinstance(b, Mapping) say so.
_Mapping.register(Bundle)

__all__ = [
    "EXAMPLES",
    "Bundle",
    "Diagnostic",
    "File",
    "InternalError",
    "Rule",
    "Topology",
    "TopologySpec",
    "ValidationError",
    "WriteResult",
    "__version__",
    "collect_script",
    "drift",
    "example",
    "explain",
    "from_dict",
    "import_tree",
    "load",
    "loads",
    "rules",
    "schema",
]
