"""Every committed notebook output must print the same on every CPU.

Another machine's BLAS (or OpenBLAS on another core type) rounds the last bits of a sum
differently, so a number printed at rounding level changes from machine to machine and
nbval fails there. This scans the committed outputs for such numbers, without touching
the machine's OPENBLAS_* settings.

The rule (a number is a decimal or scientific literal in an output's text):

1. Rounding-level magnitude: a nonzero number with 1e-18 < |x| < 1e-9 is printed as its
   digits (3.6e-15) only if it is a bare power of ten (a bound: "below 1e-12"). Float64
   rounding differences of quantities of order 1 to 1e4 live in exactly that range;
   genuinely tiny values outside it (a responsibility of 8e-66) are not rounding noise.
2. Too many digits: at most 10 significant digits. A log-likelihood of about -1889 summed
   over 500 points is reproducible to about 1e-13 relative, i.e. 12 digits at best; 10
   leaves a margin of two orders of magnitude.
"""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# A number not glued to letters or other digits (so "x1", "#0072B2", "3.11.2" don't count).
NUMBER = re.compile(r"(?<![\w.#])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")


def significant_digits(literal):
    mantissa = re.split(r"[eE]", literal.lstrip("+-"))[0]
    digits = mantissa.replace(".", "").lstrip("0")
    if "." in mantissa:
        return len(digits)
    return len(digits.rstrip("0"))  # 1000 has one significant digit as far as we can tell


def rounding_level_numbers(text):
    """The literals in ``text`` that break the rule in the module docstring."""
    found = []
    for match in NUMBER.finditer(text):
        literal = match.group()
        value = abs(float(literal))
        mantissa = re.split(r"[eE]", literal.lstrip("+-"))[0]
        bare_power_of_ten = float(mantissa) == 1.0 and re.search(r"[eE]", literal) is not None
        if 1e-18 < value < 1e-9 and not bare_power_of_ten:
            found.append(literal)
        elif significant_digits(literal) > 10:
            found.append(literal)
    return found


def output_texts(notebook):
    """(cell number, text) for every text an output of ``notebook`` shows."""
    cells = json.loads(notebook.read_text())["cells"]
    for number, cell in enumerate(cells, start=1):
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                yield number, "".join(output["text"])
            elif output["output_type"] == "error":
                yield number, output["evalue"]
            else:
                for mime in ("text/plain", "text/markdown", "text/html"):
                    if mime in output.get("data", {}):
                        yield number, "".join(output["data"][mime])


@pytest.mark.parametrize(
    "text, flagged",
    [
        ("largest difference in any parameter after 50 iterations: 3.6e-15", ["3.6e-15"]),
        ("largest difference in any parameter after 50 iterations: below 1e-12", []),
        ("Q + H - L = -2.2737367544323206e-13", ["-2.2737367544323206e-13"]),
        ("log-likelihood -1889.0712345678", ["-1889.0712345678"]),
        ("log-likelihood -1889.07, weights 0.486 0.274 0.240", []),
        ("gamma for the far point: 8e-66, 1e-300", []),
        ("colour #0072B2, numpy 2.4.6, x1 and x2, 21 iterations", []),
        ("0.000000000002", ["0.000000000002"]),
    ],
)
def test_the_rule_flags_rounding_level_numbers_and_nothing_else(text, flagged):
    assert rounding_level_numbers(text) == flagged


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_no_committed_output_prints_a_rounding_level_number(notebook):
    offenders = [(cell, literal) for cell, text in output_texts(notebook) for literal in rounding_level_numbers(text)]
    assert not offenders, (
        f"{notebook.name} prints numbers at rounding level (cell, number): {offenders[:10]}; "
        "print a bound ('below 1e-12') or round far above rounding noise"
    )
