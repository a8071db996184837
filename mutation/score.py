"""Print the mutation score of each module that carries the rules, from mutmut's results.

The score is killed / mutants: a mutant that no test notices (survived, or covered by no
test at all) counts against the module; equivalent mutants are not generated at all,
because the line says `# pragma: no mutate` with its reason. Seconds are the time its
mutants' test runs took, added up (two run at once: about twice the time on the clock).
Run by `make mutate`.
"""

import json
import sys
import tomllib
from collections import Counter
from pathlib import Path

KILLED = {1, 3}  # a test failed; pytest's internal error counts as a kill, as in mutmut
TIMEOUT = {36, -24, 24, 152, 255}
NO_TESTS = {5, 33}
NOT_CHECKED = {None}


def modules() -> list[str]:
    config = tomllib.loads(Path("pyproject.toml").read_text())
    return config["tool"]["mutmut"]["only_mutate"]


def main() -> int:
    rows = []
    survivors = []
    for module in modules():
        meta = Path("mutants") / f"{module}.meta"
        if not meta.exists():
            rows.append((module, None))
            continue
        results = json.loads(meta.read_text())
        exit_codes = results["exit_code_by_key"]
        counts = Counter()
        counts["seconds"] = round(sum(results.get("durations_by_key", {}).values()))
        for name, code in exit_codes.items():
            if code in KILLED or code in TIMEOUT:
                counts["killed"] += 1
            elif code in NOT_CHECKED:
                counts["not checked"] += 1
            else:
                counts["no tests" if code in NO_TESTS else "survived"] += 1
                survivors.append(name)
        rows.append((module, counts))

    print(f"{'module':<42} {'killed':>7} {'mutants':>8} {'score':>6} {'seconds':>8}  not yet run")
    for module, counts in rows:
        if counts is None:
            print(f"{module:<42} {'—':>7} {'—':>8} {'—':>6} {'—':>8}")
            continue
        checked = counts["killed"] + counts["survived"] + counts["no tests"]
        score = f"{100 * counts['killed'] / checked:.0f}%" if checked else "—"
        waiting = counts["not checked"] or ""
        print(
            f"{module:<42} {counts['killed']:>7} {checked:>8} {score:>6} "
            f"{counts['seconds']:>8}  {waiting}"
        )
    seconds = sum(counts["seconds"] for _module, counts in rows if counts is not None)
    print(f"{'all modules':<42} {'':>7} {'':>8} {'':>6} {seconds:>8}")
    if survivors:
        print("\nSurvivors (`.venv/bin/mutmut show NAME` prints the change):")
        for name in survivors:
            print(f"  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
