"""After `mutmut run` (`make mutation`): per module, the mutants made, reached by no unit test,
caught and survived, the mutation score, and every survivor not listed in
tests/mutation_equivalent.txt with the line it changed.

score = caught / reached, where caught counts mutmut's "killed" and "timeout", and reached is
made minus "no tests" (no unit test runs that code) minus "not checked" (an interrupted run).
Survivors listed in tests/mutation_equivalent.txt are counted apart: "equivalent" ones (no
result can change) and "cosmetic" ones (reason starting "cosmetic:": a figure's style value,
such as a line width or a figure size, that the tests deliberately do not pin). "w/o eq." is
the score with the equivalent ones set aside; cosmetic ones still count as survivors.

`python tests/mutation_report.py --ledger [MODULE ...]` checks the ledger without running a test:
it generates the mutants as `mutmut run` does (mutmut 3.8.1's per-file step, in memory; no mutants/
directory needed), then prints each entry's reason over the lines its mutant changes, and every
entry whose name no longer exists. Read the pairs: a reason that does not describe its diff names a
mutant renumbered by an edit. Exit status 1 when a name is missing. All modules of the ledger take
about 6 minutes of CPU (em_plots.py, with 5,820 mutants, most of it); name modules to check fewer.
"""

import json
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT = ROOT / "tests" / "mutation_equivalent.txt"


def listed_survivors():
    """{mutant name: reason} from tests/mutation_equivalent.txt ("name reason" per line, # comments)."""
    listed = {}
    for line in EQUIVALENT.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, reason = line.partition(" ")
            listed[name] = reason.strip()
    return listed


def changed_lines(name, path, module=None):
    """The lines a mutant removes and adds, from mutmut's own diff; ``module``, the mutated file
    parsed by libcst, spares re-parsing it for each mutant (mutmut's get_diff_for_mutant does)."""
    from difflib import unified_diff

    import libcst as cst
    from mutmut.mutation.diff_apply import get_diff_for_mutant, read_mutant_function, read_original_function

    if module is None:
        diff = get_diff_for_mutant(name, path=path).splitlines()
    else:
        functions = (read_original_function(module, name), read_mutant_function(module, name))
        before, after = (cst.Module([f]).code.strip().split("\n") for f in functions)
        diff = list(unified_diff(before, after, lineterm=""))
    return [line for line in diff if line[:1] in "-+" and not line.startswith(("---", "+++"))]


def _generate(source):
    """(source, mutated file text, mutant names) of one module, as `mutmut run` writes mutants/SOURCE."""
    from mutmut.mutation.file_mutation import mutate_file_contents
    from mutmut.utils.format_utils import get_mutant_name

    mutated = mutate_file_contents(source, (ROOT / source).read_text(encoding="utf-8"))
    return source, mutated.code, [get_mutant_name(Path(source), name) for name in mutated.mutant_names]


def check_ledger(modules=()):
    """Each ledger entry's reason over its mutant's changed lines; 1 when a name names no mutant."""
    from multiprocessing import Pool

    import libcst as cst

    listed = listed_survivors()
    sources = sorted({name.split(".", 1)[0] + ".py" for name in listed})
    if modules:
        sources = [s for s in sources if s.removesuffix(".py") in {m.removesuffix(".py") for m in modules}]
    with Pool(2) as pool:
        generated = pool.map(_generate, sources)
    made = {name: (source, code) for source, code, names in generated for name in names}
    parsed, missing = {}, []
    for name, reason in listed.items():
        if name.split(".", 1)[0] + ".py" not in sources:
            continue
        print(f"{name}\n    {reason}")
        if name not in made:
            missing.append(name)
            print("    MISSING: no such mutant")
            continue
        source, code = made[name]
        module = parsed.get(source) or parsed.setdefault(source, cst.parse_module(code))
        for line in changed_lines(name, source, module):
            print(f"      {line.strip()}")
    checked = sum(name.split(".", 1)[0] + ".py" in sources for name in listed)
    print(f"\n{checked} entries of {EQUIVALENT.name} checked against {len(made)} mutants of {', '.join(sources)}:")
    print(f"{len(missing)} name no mutant" + "".join(f"\n  {name}" for name in missing))
    return 1 if missing else 0


def main():
    from mutmut.stats import status_by_exit_code

    sources = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]["source_paths"]
    listed = listed_survivors()
    unexplained, seen = [], set()
    columns = ("made", "not run", "no test", "caught", "survived", "equivalent", "cosmetic", "score", "w/o eq.")
    print(f"{'module':<16}" + "".join(f"{c:>11}" for c in columns))
    for source in sources:
        meta = ROOT / "mutants" / f"{source}.meta"
        if not meta.exists():
            print(f"{source:<16} not measured (no {meta.relative_to(ROOT)}: run `make mutation`)")
            continue
        status = {k: status_by_exit_code[v] for k, v in json.loads(meta.read_text())["exit_code_by_key"].items()}
        seen |= set(status)
        count = {s: sum(v == s for v in status.values()) for s in ("no tests", "not checked")}
        caught = sum(s in ("killed", "timeout") for s in status.values())
        survivors = [k for k, s in status.items() if s not in ("killed", "timeout", "no tests", "not checked")]
        cosmetic = [k for k in survivors if listed.get(k, "").startswith("cosmetic:")]
        equivalent = [k for k in survivors if k in listed and k not in cosmetic]
        reached = len(status) - count["no tests"] - count["not checked"]
        score = caught / reached if reached else float("nan")
        set_aside = caught / (reached - len(equivalent)) if reached > len(equivalent) else float("nan")
        row = (len(status), count["not checked"], count["no tests"], caught, len(survivors))
        counts = "".join(f"{n:>11}" for n in (*row, len(equivalent), len(cosmetic)))
        print(f"{source:<16}{counts}{score:>11.3f}{set_aside:>11.3f}")
        unexplained += [(k, status[k], source) for k in survivors if k not in listed]
        unexplained += [(k, "no tests", source) for k, s in status.items() if s == "no tests"]
    measured = {name.split(".", 1)[0] for name in seen}  # a run may cover some modules only
    stale = sorted(name for name in set(listed) - seen if name.split(".", 1)[0] in measured)
    if stale:
        print(f"\n{len(stale)} entries of {EQUIVALENT.name} name no mutant of this run (the source moved on):")
        print("\n".join(f"  {name}" for name in stale))
    print(f"\n{len(unexplained)} mutants survived or were reached by no test, and are not listed in {EQUIVALENT.name}:")
    for name, state, source in unexplained:
        print(f"  {name} ({state})")
        for line in changed_lines(name, source):
            print(f"      {line.strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(check_ledger(sys.argv[2:]) if sys.argv[1:2] == ["--ledger"] else main())
