"""The translation catalogue (gptviz/i18n_catalog.py, with Babel):

  python scripts/i18n.py update   # extract the marked messages, bring each .po file in step
  python scripts/i18n.py update pages/x.py ...   # only these files' messages and .po files
  python scripts/i18n.py check    # list what is untranslated, fuzzy or stale (exit 1 if any)
  python scripts/i18n.py fill zh FILE.json   # {"English message": "译文", ...} into the .po
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gptviz.i18n import DEFAULT, LANGUAGES  # noqa: E402
from gptviz.i18n_catalog import fill, problems, update  # noqa: E402


def main(argv: list[str]) -> int:
    what = argv[0] if argv else "check"
    if what == "update":
        for lang, n in update(files=argv[1:] or None).items():
            print(f"{lang}: {n} entries to fix")
        return 0
    if what == "fill" and len(argv) == 3:
        left = fill(argv[1], json.loads(Path(argv[2]).read_text(encoding="utf-8")))
        for k in left:
            print(f"not in the catalogue (run update first?): {k[:70]!r}")
        return 1 if left else 0
    if what == "check":
        only = [f.removesuffix(".py").replace("/", ".") for f in argv[1:]]
        bad = 0
        for lang in LANGUAGES:
            if lang == DEFAULT:
                continue
            found = [p for p in problems(lang) if not only or any(
                p.startswith(f"{o}.po:") or f"(used in {o.replace('.', '/')}.py)" in p
                for o in only)]
            bad += len(found)
            for p in found:
                print(f"{lang}: {p}")
        print("catalogue complete" if not bad else f"{bad} problems")
        return 1 if bad else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
