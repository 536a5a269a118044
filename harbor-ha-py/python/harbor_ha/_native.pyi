"""Type stubs of the native module (hand-written; checked by ``python -m mypy.stubtest harbor_ha``)."""

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from os import PathLike
from typing import Any, Final, Literal, TypedDict, TypeVar, final, overload

from harbor_ha.spec import Role, SiteMode, TopologySpec

__all__ = [
    "EXAMPLES",
    "Bundle",
    "Diagnostic",
    "File",
    "InternalError",
    "Rule",
    "Topology",
    "ValidationError",
    "WriteResult",
    "__version__",
    "_panic",
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

__version__: Final[str]
#: Names accepted by :func:`example`.
EXAMPLES: Final[tuple[str, ...]]

_T = TypeVar("_T")
_Severity = Literal["error", "warning"]

class _DiagnosticDict(TypedDict):
    code: str
    severity: _Severity
    message: str
    hint: str
    path: str
    line: int | None
    column: int | None

class _ImportReport(TypedDict):
    topology: str
    findings: list[_DiagnosticDict]
    diagnostics: list[_DiagnosticDict]

class _DriftFindingBase(TypedDict):
    host: str
    path: str
    kind: Literal["host-missing", "missing", "changed", "mode", "extra", "facts"]
    message: str

class _DriftFinding(_DriftFindingBase, total=False):
    diff: str

class _DriftReport(TypedDict):
    clean: bool
    hosts: list[str]
    files: int
    findings: list[_DriftFinding]

class _HostPlan(TypedDict):
    step: int
    name: str
    address: str
    roles: list[Role]
    installs_alone: bool
    install_script: str
    files: list[str]

class _SitePlan(TypedDict):
    site: str
    mode: SiteMode
    harbor_version: str
    hosts: list[_HostPlan]

class _InstallPlan(TypedDict):
    sites: list[_SitePlan]

class _FileChangeBase(TypedDict):
    path: str
    change: Literal["added", "removed", "modified"]

class _FileChange(_FileChangeBase, total=False):
    diff: str

class _Step(TypedDict):
    id: int
    kind: str
    site: str
    hosts: list[str]
    title: str
    run: str
    files: list[_FileChange]
    changes: list[str]
    serving: bool
    verify: str

# Functional syntax: `from` is a keyword.
_PostgresUpgrade = TypedDict("_PostgresUpgrade", {"from": str, "to": str, "host": str | None})
_Hop = TypedDict(
    "_Hop",
    {
        "site": str,
        "from": str | None,
        "to": str | None,
        "schema_from": int | None,
        "schema_to": int | None,
        "migrate": Literal["migrate-mode", "start-alone"] | None,
        "postgres_min": str | None,
        "postgres_upgrade": _PostgresUpgrade | None,
        "script": str,
    },
)

class _ChangePlan(TypedDict):
    steps: list[_Step]
    hops: list[_Hop]
    downtime: bool
    diagnostics: list[_DiagnosticDict]

class ValidationError(ValueError):
    """The topology does not parse or has errors; ``.diagnostics`` lists every finding.

    Raised by :func:`load`, :func:`loads` and :func:`from_dict` when the input is not a
    topology (every structural error at once, each an HA001 with its line and column, or its
    key path for a dict), and by
    :meth:`Topology.render` when validation or secret resolution finds errors.
    """

    diagnostics: list[Diagnostic]

class InternalError(RuntimeError):
    """A bug in harbor-ha: the core panicked. Please report it with the topology."""

@final
class Diagnostic:
    """One finding: a stable rule code, a severity, where, what and how to fix it."""

    @property
    def code(self) -> str:
        """Stable rule code, e.g. ``HA003`` (see :func:`explain`)."""
    @property
    def severity(self) -> _Severity: ...
    @property
    def message(self) -> str:
        """One line naming the offending place. Never contains a secret."""
    @property
    def hint(self) -> str:
        """How to fix it."""
    @property
    def path(self) -> str:
        """Key path of the offending value, e.g. ``sites[0].hosts[2].address``."""
    @property
    def line(self) -> int | None:
        """1-based line in the topology text; ``None`` for a dict or a site-wide finding."""
    @property
    def column(self) -> int | None:
        """1-based column in the topology text; ``None`` for a dict or a site-wide finding."""
    @property
    def is_error(self) -> bool: ...
    def to_dict(self) -> _DiagnosticDict:
        """The fields as a dict, as ``harbor-ha validate --format json`` prints them."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class File:
    """One file of a bundle."""

    @property
    def content(self) -> str:
        """The text written to disk (UTF-8)."""
    @property
    def mode(self) -> int:
        """Unix permission bits, e.g. ``0o755`` for scripts, ``0o600`` for secrets."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Bundle(Mapping[str, File]):
    """The rendered bundle: a read-only mapping from relative path to :class:`File`."""

    def __getitem__(self, key: str, /) -> File: ...
    def __len__(self) -> int: ...
    def __iter__(self) -> Iterator[str]: ...
    def __contains__(self, key: object, /) -> bool: ...
    def keys(self) -> KeysView[str]: ...
    def values(self) -> ValuesView[File]: ...
    def items(self) -> ItemsView[str, File]: ...
    @overload
    def get(self, key: str, default: None = None) -> File | None: ...
    @overload
    def get(self, key: str, default: File | _T) -> File | _T: ...
    def __eq__(self, other: object, /) -> bool: ...
    def write(self, dir: str | PathLike[str], force: bool = False) -> WriteResult:
        """Write the bundle into ``dir`` as ``harbor-ha render --out dir`` does.

        Only the files that differ are replaced, each atomically, and ``MANIFEST.sha256``
        (every file's SHA-256 and mode) is written last. An existing ``dir`` is written only
        when it is empty, a previous bundle, or ``force`` is true; files edited since the
        last write, and stored secrets with other values, are overwritten only with
        ``force`` (otherwise :class:`FileExistsError`, naming them). A previous bundle that
        already holds exactly these files (content and mode) is left untouched.
        Returns what the write did: ``outcome`` (``"written"`` or ``"unchanged"``) and the
        paths created, changed and removed, as ``harbor-ha render -v`` lists them.
        """

@final
class WriteResult:
    """What :meth:`Bundle.write` did (the CLI's ``wrote N files (… created, … changed, …
    removed)`` line)."""

    @property
    def outcome(self) -> Literal["written", "unchanged"]:
        """``unchanged`` when the directory already held exactly this bundle."""
    @property
    def written(self) -> bool:
        """Whether the directory was written (``outcome == "written"``)."""
    @property
    def created(self) -> list[str]:
        """Files of the bundle the directory did not hold (paths relative to it, sorted)."""
    @property
    def changed(self) -> list[str]:
        """Files the directory held with another content or mode."""
    @property
    def removed(self) -> list[str]:
        """Files the directory held that the bundle does not (gone now)."""
    def __eq__(self, other: object, /) -> bool: ...
    def __hash__(self) -> int: ...

@final
class Topology:
    """A parsed topology, valid or not (see :meth:`validate`)."""

    @property
    def sites(self) -> list[str]:
        """Site names as written."""
    def validate(self) -> list[Diagnostic]:
        """Every finding, errors and warnings, ordered by position in the file.

        Warnings the topology's ``allow`` keys accept are left out (as the CLI's text output
        leaves them out); an ``allow`` entry that is not a warning's code is an AL001 error.
        """
    def render(
        self, secrets_dir: str | PathLike[str] | None = None, *, secrets: Mapping[str, str] | None = None
    ) -> Bundle:
        """Render the deployment bundle.

        Harbor's shared secrets are read from ``<secrets_dir>/<site>/`` when a previous render
        left them there (the CLI reads ``<out>/secrets``), generated otherwise (``None``:
        always fresh). ``{env: X}`` secrets come from ``secrets`` when it is given, from this
        process's environment otherwise: the mapping *replaces* the environment (a name it
        lacks is an SC002 error, with a hint to add it to the mapping, even when the
        environment has it; pass ``{**os.environ, **mine}`` to fall back). ``{file: P}`` secrets come from disk.
        Values never appear in an error or a repr.

        Raises :class:`ValidationError` when the topology has errors or a secret cannot be
        resolved, :class:`TypeError` when ``secrets`` is not a mapping of str to str.
        """
    def to_dict(self) -> TopologySpec:
        """The topology as plain data: what :func:`from_dict` takes, and
        ``from_dict(t.to_dict())`` renders the same bundle.

        Keys the file left out are left out. Secrets are as written: ``{"env": X}`` and
        ``{"file": P}`` stay references, and a literal secret (SC001) is its value, as in the
        file; so treat the dict as you treat the file (the repr of a :class:`Topology` never
        shows a value).
        """
    @overload
    def plan(self, from_: None = None) -> _InstallPlan:
        """The install plan, as ``harbor-ha plan FILE --format json`` prints it: every site's
        hosts in install order, each with its install script and the files it receives.

        With ``from_`` (the running topology): the change plan from it to this one, as
        ``harbor-ha plan --from OLD FILE --format json`` prints it (``diff``: each changed
        file's unified diff, secrets as stand-ins; ``allow_destructive``: CH003 becomes a
        warning). Raises :class:`ValidationError` when either topology has errors or the
        change is refused (CH001–CH004).
        """
    @overload
    def plan(self, from_: Topology, *, diff: bool = False, allow_destructive: bool = False) -> _ChangePlan: ...

@final
class Rule:
    """One rule of the catalog."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def severity(self) -> _Severity: ...
    @property
    def summary(self) -> str: ...
    @property
    def doc(self) -> str:
        """The full documentation (Markdown), as :func:`explain` returns it."""

def load(path: str | PathLike[str]) -> Topology:
    """Read and parse a topology file.

    Raises :class:`ValidationError` (every structural error, each an HA001 with line and
    column) when the text is not a topology, and :class:`OSError` (e.g. :class:`FileNotFoundError`) when it cannot be read.
    """

def loads(text: str) -> Topology:
    """Parse a topology from YAML text."""

def from_dict(data: TopologySpec) -> Topology:
    """Build a topology from plain data (dicts, lists, str, int, float, bool, None).

    The data goes through the same model as the YAML file, so a wrong type or an unknown key
    is the same HA001 with the same key path (and no line or column); every one at once. Typed
    as :class:`harbor_ha.spec.TopologySpec`, so that ``mypy --strict`` names a misspelt key
    (data of type ``Any``, e.g. from ``yaml.safe_load``, is accepted as is).
    """

def schema() -> dict[str, Any]:
    """The JSON Schema of the topology format, as ``harbor-ha schema`` prints it."""

def explain(code: str) -> str:
    """A rule's documentation, by code (``HA003``) or name (``host-outside-subnet``).

    Raises :class:`ValueError` for an unknown code.
    """

def rules() -> list[Rule]:
    """The rule catalog, in catalog order."""

def example(name: str = "seed") -> str:
    """A built-in example topology (YAML), one of :data:`EXAMPLES`."""

def import_tree(path: str | PathLike[str]) -> _ImportReport:
    """Rebuild a topology from a collected tree and check the site, as
    ``harbor-ha import DIR --format json`` does (the same data).

    ``topology`` is the topology text (with commented placeholders for what the files do not
    tell); ``findings`` the cross-node findings on the collected files (``path`` relative to
    the tree, with its ``line``); ``diagnostics`` the findings on the topology.
    Raises :class:`OSError` when the tree cannot be read, :class:`ValueError` when it holds
    no host.
    """

def drift(bundle_dir: str | PathLike[str], tree: str | PathLike[str], hosts: list[str] | None = None) -> _DriftReport:
    """Compare every file of a bundle with the collected one, as
    ``harbor-ha drift BUNDLE DIR --format json`` does (the same data); ``hosts`` limits the
    comparison (``--host``). ``clean`` is false on drift.
    """

def collect_script() -> str:
    """The text of ``collect.sh``, as ``harbor-ha collect-script`` prints it."""

def _panic(message: str) -> None:
    """Panic inside the native code (for the tests: a panic becomes :class:`InternalError`)."""
