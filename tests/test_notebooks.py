"""The notebooks in notebooks/: saved without outputs, and each runs top to bottom (at the reduced
size that ``JAXVIZ_NOTEBOOK_SMALL=1`` selects) and shows what it promises."""

import os
import re
import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = ["quickstart", "seed_lessons", "large_sweep", "trainability"]
REPO_URL = "https://github.com/jaxviz/jaxviz"
LESSONS = ["explode", "momentum", "patience", "overfitting", "regularisation"]


def read(name):
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def tagged(nb, tag):
    """The one code cell carrying ``tag`` in its metadata."""
    cells = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    assert len(cells) == 1, f"expected one cell tagged {tag!r}, found {len(cells)}"
    return cells[0]


def stdout(cell):
    return "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")


def shown(cell, mime):
    """The ``mime`` payloads a cell displayed (display_data and the last expression's value)."""
    return [o.data[mime] for o in cell.outputs
            if o.output_type in ("display_data", "execute_result") and mime in o.data]


def is_animation(html):
    return ((html.startswith("<video") and "data:video/mp4;base64," in html)
            or (html.startswith("<img") and "data:image/gif;base64," in html))


@pytest.mark.parametrize("name", NAMES)
def test_notebook_is_saved_without_outputs(name):
    nb = read(name)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("name", NAMES)
def test_install_cell_pip_installs_the_repo_only_when_jaxviz_is_missing(name, monkeypatch):
    """Runs the install cell as IPython would (magics translated, ``{VAR}`` expanded) against a
    shell that records magics instead of running them, with jaxviz importable and not."""
    from IPython.core.inputtransformer2 import TransformerManager
    from IPython.utils.text import DollarFormatter

    import jaxviz

    nb = read(name)
    code = TransformerManager().transform_cell(tagged(nb, "install").source)

    def run_cell(importable: bool) -> tuple[list[tuple[str, str]], dict]:
        magics: list[tuple[str, str]] = []
        namespace: dict = {}

        class Shell:
            def run_line_magic(self, magic, line, _stack_depth=1):
                magics.append((magic, DollarFormatter().vformat(line, args=[], kwargs=namespace)))
                if magic == "pip":  # as if it installed jaxviz
                    sys.modules["jaxviz"] = jaxviz

        shell = Shell()
        namespace["get_ipython"] = lambda: shell
        monkeypatch.setitem(sys.modules, "jaxviz", jaxviz if importable else None)  # None: ImportError
        exec(code, namespace)
        return magics, namespace

    monkeypatch.delenv("JAXVIZ_REPO", raising=False)
    magics, namespace = run_cell(importable=True)
    assert [m for m, _ in magics if m == "pip"] == []  # CI and installed users: nothing installed
    assert namespace["REPO_URL"] == REPO_URL

    magics, _ = run_cell(importable=False)
    assert ("pip", f'install -q "git+{REPO_URL}"') in magics

    monkeypatch.setenv("JAXVIZ_REPO", "https://github.com/someone/jaxviz-fork")
    magics, _ = run_cell(importable=False)
    assert ("pip", 'install -q "git+https://github.com/someone/jaxviz-fork"') in magics

    badge = f"https://colab.research.google.com/github/{REPO_URL.removeprefix('https://github.com/')}" \
            f"/blob/main/notebooks/{name}.ipynb"
    assert badge in nb.cells[0].source  # the badge opens this very notebook of the same repository


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_small(name, monkeypatch, tmp_path):
    from nbclient import NotebookClient

    monkeypatch.setenv("JAXVIZ_NOTEBOOK_SMALL", "1")  # the kernel inherits this process's environment
    # the small runs are dominated by compiling; XLA's backend optimisations would double that
    monkeypatch.setenv("XLA_FLAGS", f"{os.environ.get('XLA_FLAGS', '')} --xla_backend_optimization_level=0")
    nb = read(name)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()  # raises on any cell error

    assert all(c.execution_count is not None for c in nb.cells if c.cell_type == "code")
    assert re.search(r"backend: (cpu|gpu|cuda|rocm|tpu)\b", stdout(tagged(nb, "device")))
    animations = [c for c in nb.cells if "animation" in c.metadata.get("tags", [])]
    assert animations and all(any(is_animation(h) for h in shown(c, "text/html")) for c in animations)
    CHECKS[name](nb, tmp_path)


def check_quickstart(nb, folder):
    for tag in ("figure", "history", "summary"):
        assert shown(tagged(nb, tag), "image/png"), tag
    (table,) = shown(tagged(nb, "table"), "text/html")
    assert "<th>val_accuracy</th>" in table and table.count("<tr>") == 1 + 4  # header + a 2 x 2 grid
    assert (folder / "quickstart.mp4").stat().st_size > 0
    assert {p.name for p in (folder / "quickstart-run").iterdir()} >= {"run.npz", "config.toml", "metrics.csv"}


def check_seed_lessons(nb, folder):
    for lesson in LESSONS:
        assert stdout(tagged(nb, f"train-{lesson}")).startswith(f"lesson-{lesson}:")
        assert shown(tagged(nb, f"animation-{lesson}"), "text/html")
        assert shown(tagged(nb, f"curves-{lesson}"), "image/png"), lesson
    assert "lesson-regularisation" in stdout(tagged(nb, "presets"))


def check_large_sweep(nb, folder):
    assert re.search(r"^8 models x 5 epochs in ", stdout(tagged(nb, "sweep")), re.M)
    for tag in ("summary", "tiles", "curves"):
        assert shown(tagged(nb, tag), "image/png"), tag
    assert stdout(tagged(nb, "choose")).count("best") == 2
    # the replay is the same arithmetic as the big run (fixed model blocks): identical numbers
    assert "largest val_loss difference from the big run: 0;" in stdout(tagged(nb, "replay"))
    assert "differs for 0 of them" in stdout(tagged(nb, "replay"))


def check_trainability(nb, folder):
    for tag in ("map-momentum", "map-kr", "paper"):
        assert shown(tagged(nb, tag), "image/png"), tag
    assert re.search(r"^TrainabilityMap\(5 x 5: x=lr, y=momentum, ", stdout(tagged(nb, "map-momentum")), re.M)
    sides = stdout(tagged(nb, "boundary"))
    assert sides.count("converged") == 1 and sides.count("diverged") == 1  # one pixel on each side
    # the replay is the map's own arithmetic: the same last loss, bit for bit
    assert stdout(tagged(nb, "replay")).count("replay equals the map's pixel: True") == 2
    assert len(shown(tagged(nb, "replay-figures"), "image/png")) == 2
    (video,) = shown(tagged(nb, "zoom"), "text/html")
    assert is_animation(video.strip())
    assert (folder / "fractal-zoom.mp4").stat().st_size > 0
    assert re.search(r"boundary dimension over the zoom: (\d\.\d\d|nan) \(the paper: about 1\.17 to 1\.98\)",
                     stdout(tagged(nb, "dimension")))


CHECKS = {"quickstart": check_quickstart, "seed_lessons": check_seed_lessons, "large_sweep": check_large_sweep,
          "trainability": check_trainability}
