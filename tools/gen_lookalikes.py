"""Write ``src/parley/domain/lookalikes.py``: the letters and digits that look like an ASCII
letter or digit, from Unicode's confusables data as the ``confusable-homoglyphs`` package ships
it (its ``confusables.json`` is built from Unicode's ``confusables.txt``).

Only characters that NFKD plus dropping combining marks does not already turn into ASCII are
kept (NFKD folds the fullwidth and mathematical letters by itself), and only those whose
look-alike is one ASCII letter or digit. A capital that Unicode's skeleton maps to ``l`` (a
Cyrillic or Greek capital I) is written as ``i``: once case is folded that is what it reads as.

    pip install confusable-homoglyphs==3.3.1
    python tools/gen_lookalikes.py > src/parley/domain/lookalikes.py
"""

from __future__ import annotations

import json
import string
import unicodedata
from importlib import resources


def _folded(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", ch)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def main() -> None:
    raw = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text()
    data = json.loads(raw)
    by_target: dict[str, list[str]] = {}
    for target in string.ascii_letters + string.digits:
        for glyph in data.get(target, []):
            ch = glyph["c"]
            if len(ch) != 1 or ch.isascii() or _folded(ch).isascii():
                continue
            if unicodedata.category(ch) in {"Mn", "Me", "Cf"}:
                continue
            folded = target.lower()
            if folded == "l" and unicodedata.category(ch) == "Lu":
                folded = "i"
            by_target.setdefault(folded, []).append(ch)
    print('"""Characters that look like an ASCII letter or digit (generated, do not edit).')
    print()
    print("Made by ``tools/gen_lookalikes.py`` from Unicode's confusables data")
    print("(``confusable-homoglyphs`` 3.3.1); see there for what is kept and why.")
    print('"""')
    print()
    print("#: ASCII letter or digit -> the characters that look like it.")
    print("LOOKALIKES: dict[str, str] = {")
    for target in sorted(by_target):
        chars = "".join(sorted(set(by_target[target])))
        escaped = [f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}" for c in chars]
        lines = ["".join(escaped[i : i + 8]) for i in range(0, len(escaped), 8)]
        if len(lines) == 1:
            print(f'    "{target}": "{lines[0]}",')
            continue
        print(f'    "{target}": (')
        for line in lines:
            print(f'        "{line}"')
        print("    ),")
    print("}")


if __name__ == "__main__":
    main()
