"""Every notebook runs top to bottom (nbclient, in memory: the committed files are not rewritten)
and is committed executed, so a reader sees tables and figures without running anything. Outputs
stay small: figures as PNGs at 110 dpi, no stderr streams.

Refresh the committed outputs after editing a notebook:

    .venv/bin/python tests/test_notebooks.py            # executes and rewrites notebooks/*.ipynb
"""

import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
WITH_FIGURES = {"01_energy_per_inference", "02_design_space_sweep", "04_conv_networks"}
MAX_PNG_BYTES = 150_000
MAX_NOTEBOOK_BYTES = 600_000


def execute(path: Path):
    """The notebook at ``path`` executed in memory (stderr streams dropped)."""
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=900, kernel_name="python3",
                                     resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError with the failing cell and its traceback
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.outputs if not (o.output_type == "stream" and o.get("name") == "stderr")]
    return nb


def _outputs(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]


def _check_outputs(nb, name):
    outs = _outputs(nb)
    assert not [o for o in outs if o.output_type == "error"]
    texts = [o.get("data", {}).get("text/plain", "") for o in outs]
    assert not any(t.startswith("<Figure size") and "image/png" not in o.get("data", {}) for t, o in zip(texts, outs)), \
        f"{name}: a figure shows as text, not as an image"
    pngs = [o["data"]["image/png"] for o in outs if "image/png" in o.get("data", {})]
    if name in WITH_FIGURES:
        assert pngs, f"{name}: no inline figure"
    for p in pngs:
        assert len(p) * 3 // 4 < MAX_PNG_BYTES, f"{name}: a {len(p) * 3 // 4}-byte PNG; keep figures at 110 dpi"


def test_there_are_four_notebooks():
    assert [p.name for p in NOTEBOOKS] == ["01_energy_per_inference.ipynb", "02_design_space_sweep.ipynb",
                                          "03_compress_and_simulate.ipynb", "04_conv_networks.ipynb"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_executed_with_small_outputs(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code), f"{path.name}: commit it executed (see this file's docstring)"
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1)), f"{path.name}: executed out of order"
    _check_outputs(nb, path.stem)
    assert path.stat().st_size < MAX_NOTEBOOK_BYTES
    tables = [o for o in _outputs(nb) if "text/html" in o.get("data", {})]
    assert path.stem == "03_compress_and_simulate" or tables, f"{path.name}: tables should render as DataFrames"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path):
    nb = execute(path)  # in memory; the committed file is left alone
    _check_outputs(nb, path.stem)


if __name__ == "__main__":
    for p in NOTEBOOKS if len(sys.argv) < 2 else [Path(a).resolve() for a in sys.argv[1:]]:
        nbformat.write(execute(p), p)
        print(f"executed {p.name}: {p.stat().st_size:,} bytes")
