"""The architecture holds: each layer of the package imports only what it may (read from the source)."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "jaxviz"


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside functions (``from x import y`` gives ``x``
    and ``x.y``, so importing a submodule by name counts)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{a.name}" for a in node.names}
    return names


def _modules(folder: str) -> list[Path]:
    return sorted((PACKAGE / folder).glob("*.py")) if folder else [PACKAGE / "cli.py"]


def _hits(paths, banned) -> list[str]:
    return [f"{p.relative_to(PACKAGE)} imports {name}" for p in paths for name in sorted(_imports(p))
            if any(name == b or name.startswith(b + ".") for b in banned)]


def test_the_layers_exist():
    for folder in ("spec", "data", "engine", "views", "io"):
        assert (PACKAGE / folder / "__init__.py").is_file(), folder
    for name in ("api.py", "results.py", "analysis.py", "cli.py"):
        assert (PACKAGE / name).is_file(), name


def test_engine_imports_no_matplotlib_and_nothing_above_it():
    banned = ["matplotlib", "PIL", "imageio", "imageio_ffmpeg", "jaxviz.views", "jaxviz.io", "jaxviz.results",
              "jaxviz.api", "jaxviz.cli"]
    assert _hits(_modules("engine"), banned) == []


def test_engine_writes_no_files():
    for path in _modules("engine"):
        source = path.read_text()
        for call in ("open(", ".write_text(", ".write_bytes(", "np.save", "savez", "mkdir("):
            assert call not in source, f"{path.name} calls {call}"


def test_views_never_train():
    assert _hits(_modules("views"), ["jaxviz.engine.train", "jaxviz.api", "jaxviz.cli"]) == []


def test_io_never_imports_the_engine():
    assert _hits(_modules("io"), ["jaxviz.engine", "jaxviz.api", "jaxviz.cli"]) == []


def test_spec_and_data_import_no_engine_or_views():
    banned = ["jax", "flax", "optax", "matplotlib", "jaxviz.engine", "jaxviz.views", "jaxviz.io"]
    assert _hits(_modules("spec") + _modules("data"), banned) == []


def test_cli_calls_only_api_and_io():
    own = [n for n in _imports(PACKAGE / "cli.py") if n.startswith("jaxviz")]
    allowed = ("jaxviz.api", "jaxviz.io")
    assert [n for n in own if not (n == "jaxviz" or n.startswith(allowed))] == []


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_short(path):
    assert len(path.read_text().splitlines()) <= 420, f"{path.name} is longer than about 400 lines"
