"""Execute every notebook in notebooks/ in place, as `make run` does.

Each notebook runs in a fresh `python3` kernel with its own folder as the working
directory, and is saved with its outputs, execution counts 1..N and no per-cell
timestamps, so that re-running it changes only what really changed.
"""

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


def coalesce_streams(outputs):
    """Merge consecutive stdout (or stderr) outputs, as nbval does before comparing."""
    merged = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            output.output_type == "stream"
            and previous is not None
            and previous.output_type == "stream"
            and previous.name == output.name
        ):
            previous.text += output.text
        else:
            merged.append(output)
    return merged


def run(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        record_timing=False,  # no per-cell execution timestamps in the metadata
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":  # one stream output per print burst is noise: merge them
            cell.outputs = coalesce_streams(cell.outputs)
    nbformat.write(nb, path)
    return elapsed


def main() -> int:
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    if len(sys.argv) > 1:  # `python tests/run_notebooks.py 02 05`: only the notebooks whose names start so
        notebooks = [path for path in notebooks if path.name.startswith(tuple(sys.argv[1:]))]
    if not notebooks:
        print("No notebook in notebooks/ yet: nothing to run.")
        return 0
    for path in notebooks:
        print(f"running {path.relative_to(ROOT)} ...", flush=True)
        print(f"  done in {run(path):.1f} s (kernel start included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
