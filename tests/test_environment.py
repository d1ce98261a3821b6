"""requirements.txt (pip) and environment.yml (conda) must pin the same packages; pyproject.toml's
distribution holds every top-level module."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pip_pins():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[_normalise(name)] = version.strip()
    return pins


def conda_pins():
    pins = {}
    in_deps = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        if line.startswith("dependencies:"):
            in_deps = True
            continue
        if in_deps and line.strip().startswith("- "):
            name, _, version = line.strip()[2:].partition("=")
            pins[_normalise(name)] = version.strip()
        elif in_deps and line.strip() and not line.startswith(" "):
            in_deps = False
    pins.pop("python", None)
    return pins


def test_requirements_pin_every_package_exactly():
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*", line), line


def test_environment_yml_matches_requirements_txt():
    pip, conda = pip_pins(), conda_pins()
    assert set(pip) == set(conda), (
        f"only in requirements.txt: {set(pip) - set(conda)}, only in environment.yml: {set(conda) - set(pip)}"
    )
    different = {name: (pip[name], conda[name]) for name in pip if pip[name] != conda[name]}
    assert not different, f"versions differ (pip, conda): {different}"


def test_the_required_packages_are_pinned():
    needed = {
        "numpy",
        "scipy",
        "matplotlib",
        "jupyterlab",
        "ipykernel",
        "nbval",
        "pytest",
        "hypothesis",
        "scikit-learn",
    }
    assert needed <= set(pip_pins())


def test_the_distribution_lists_every_top_level_module():
    """pyproject's py-modules are the em_*.py files at the root: a new room is not left out of `pip install .`."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = config["tool"]["setuptools"]["py-modules"]
    assert len(listed) == len(set(listed)), listed
    assert set(listed) == {path.stem for path in ROOT.glob("em_*.py")}
    assert set(config["project"]["dependencies"]) >= {"numpy", "scipy"}  # and what the next test asks for
    assert config["project"]["requires-python"] == ">=3.11"


def test_the_distribution_depends_on_every_package_a_module_imports_at_the_top():
    # `pip install -e .` in a fresh venv once failed on `import em_select` (threadpoolctl missing):
    # every third-party package imported at the top of a module is a dependency (or, for the
    # figures and the cluster code, an extra: em_plots imports matplotlib only inside functions).
    import ast
    import sys

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_normalise(re.split(r"[\[<>=; ]", dep)[0]) for dep in project["dependencies"]}
    for extra in project.get("optional-dependencies", {}).values():
        declared |= {_normalise(re.split(r"[\[<>=; ]", dep)[0]) for dep in extra}
    local = {path.stem for path in ROOT.glob("em_*.py")}
    for path in ROOT.glob("em_*.py"):
        for node in ast.parse(path.read_text()).body:
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in local or top == "__future__":
                    continue
                assert _normalise(top) in declared, f"{path.name} imports {top}, which pyproject.toml does not declare"
