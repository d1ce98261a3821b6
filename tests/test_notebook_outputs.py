"""Every committed notebook output must print the same on every CPU.

Another machine's BLAS (or OpenBLAS on another core type) rounds the last bits of a sum
differently, so a number printed at rounding level changes from machine to machine and
nbval fails there. This scans the committed outputs for such numbers, without touching
the machine's OPENBLAS_* settings.

The rule (a number is a decimal or scientific literal in an output's text):

1. Rounding-level magnitude: a nonzero number with |x| < 1e-9 is printed as its digits
   (3.6e-15, 1.13e-72) only if it is a bound: a bare power of ten ("1e-12"), or any
   number right after "below", "under", "<" or "≤" ("below 2.2e-16 times ...").
   Float64 rounding differences of quantities of order 1 to 1e4 live below 1e-9, and so
   does what is left of a quantity that collapsed (a variance printed as 1.13e-72 on one
   CPU is 0 on another): whatever the exponent, its digits are decided by rounding. A
   genuinely tiny value that rounding does not decide (a responsibility of 8e-66) is
   printed as a bound too ("below 1e-60"), so no exception is needed.
2. Too many digits: at most 10 significant digits. A log-likelihood of about -1889 summed
   over 500 points is reproducible to about 1e-13 relative, i.e. 12 digits at best; 10
   leaves a margin of two orders of magnitude.
3. A noisy zero: no scanner can tell a 0 that rounding produced from a 0 that counts
   something, so a zero is flagged where the words before it name a quantity that is a
   difference of nearly equal numbers or a collapse (variance, eigenvalue, difference, gap,
   error, residual, drop, change) within the same clause: notebook 02 printed "its variance
   along one direction is 0", which another OpenBLAS kernel prints as 1.13e-72. Such a
   value is printed as a bound ("below 2.2e-16 times ...") instead.
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


# Rule 3: a word naming a rounding-sensitive quantity, then (within one clause: no digit,
# comma, semicolon or full stop between them) a literal zero.
NOISY_ZERO = re.compile(
    r"(?i)\b(?:variances?|eigenvalues?|differences?|gaps?|errors?|residuals?|drops?|changes?)\b"
    r"[^\d,;.\n]{0,40}?(?<![\w.#])[-+]?(0(?:\.0*)?(?:[eE][-+]?\d+)?)(?![\w.])"
)


# What makes a number printed right after it a bound, not a measurement.
BOUND_WORD = re.compile(r"(?:\bbelow|\bunder|<|≤)\s*$")


def rounding_level_numbers(text):
    """The literals in ``text`` that break the rule in the module docstring."""
    found = []
    for match in NUMBER.finditer(text):
        literal = match.group()
        value = abs(float(literal))
        mantissa = re.split(r"[eE]", literal.lstrip("+-"))[0]
        bare_power_of_ten = float(mantissa) == 1.0 and re.search(r"[eE]", literal) is not None
        is_bound = bare_power_of_ten or BOUND_WORD.search(text[: match.start()]) is not None
        if 0 < value < 1e-9 and not is_bound:
            found.append(literal)
        elif significant_digits(literal) > 10:
            found.append(literal)
    found.extend(match.group(1) for match in NOISY_ZERO.finditer(text))
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
        ("gamma for the far point: 8e-66, 1e-300", ["8e-66"]),
        ("gamma for the far point: below 1e-60", []),
        # Notebook 02's collapse message: 0 on this CPU, 1.13e-72 under OPENBLAS_CORETYPE=Prescott.
        ("component 2 collapsed (its variance along one direction is 0, below float64's resolution)", ["0"]),
        ("component 2 collapsed (its variance along one direction is 1.13e-72, below)", ["1.13e-72"]),
        ("its variance along one direction is below 2.2e-16 times the data's variance there", []),
        ("largest difference: 0.0", ["0.0"]),
        ("component 1: 0 setosa, 50 versicolor; 0% stopped; raw densities [0. 0.]", []),
        ("error rate 0.12, eigenvalues 0.013 and 1e-08", []),
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
