"""Time `Topology.render()` on the seed example: median of 100 calls.

Secrets are generated once (RSA key generation is slow and not what is measured) and then
reused through `secrets_dir`, as every re-render of a deployment does.

    .venv/bin/python harbor-ha-py/bench_render.py [N]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import harbor_ha


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    for var in ("HARBOR_ADMIN_PASSWORD", "HARBOR_DB_PASSWORD", "HARBOR_REDIS_PASSWORD"):
        os.environ.setdefault(var, "Bench-Pw1-" + var.lower())
    topo = harbor_ha.loads(harbor_ha.example("seed"))
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        t0 = time.perf_counter()
        topo.render().write(out)  # generates the shared secrets once
        first = time.perf_counter() - t0
        secrets = out / "secrets"
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            bundle = topo.render(secrets_dir=secrets)
            times.append(time.perf_counter() - t0)
    size = sum(len(f.content.encode()) for f in bundle.values())
    print(f"first render (generates secrets): {first * 1000:.0f} ms")
    print(
        f"render() with secrets_dir, {n} calls: median {statistics.median(times) * 1000:.3f} ms, "
        f"min {min(times) * 1000:.3f} ms, max {max(times) * 1000:.3f} ms "
        f"({len(bundle)} files, {size} bytes)"
    )


if __name__ == "__main__":
    main()
