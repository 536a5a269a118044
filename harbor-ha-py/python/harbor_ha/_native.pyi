"""Type stubs of the native module (hand-written; checked by ``python -m mypy.stubtest harbor_ha``)."""

from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from os import PathLike
from typing import Any, ClassVar, Final, Literal, TypedDict, TypeVar, final, overload

__all__ = [
    "EXAMPLES",
    "Bundle",
    "Diagnostic",
    "File",
    "InternalError",
    "Rule",
    "Topology",
    "ValidationError",
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
    def write(self, dir: str | PathLike[str], force: bool = False) -> None:
        """Write the bundle into ``dir`` as ``harbor-ha render --out dir`` does.

        The files go to a temporary sibling first, which is then renamed into place. An
        existing ``dir`` is replaced only when it is empty, a previous bundle, or ``force``
        is true (otherwise :class:`FileExistsError`). A previous bundle that already holds
        exactly these files (content and mode) is left untouched.
        """

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
    def render(self, secrets_dir: str | PathLike[str] | None = None) -> Bundle:
        """Render the deployment bundle.

        Harbor's shared secrets are read from ``<secrets_dir>/<site>/`` when a previous render
        left them there (the CLI reads ``<out>/secrets``), generated otherwise (``None``:
        always fresh). ``{env: X}`` secrets come from this process's environment,
        ``{file: P}`` from disk.

        Raises :class:`ValidationError` when the topology has errors or a secret cannot be
        resolved.
        """

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

def from_dict(data: Mapping[str, Any]) -> Topology:
    """Build a topology from plain data (dicts, lists, str, int, float, bool, None).

    The data goes through the same model as the YAML file, so a wrong type or an unknown key
    is the same HA001 with the same key path (and no line or column); every one at once.
    """

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
