"""Record again what the kit recorded against an installed version: `make lock` runs this.

Today that is the openai SDK's answers in data/sse_tricky_cases.json (lesson 2 reads them). It
prints every case whose answer changed: read that case's note, and lesson 2, for a sentence that
described the old behaviour.
"""

from __future__ import annotations

import json

import openai
from tricky_cases import TRICKY_FILE, chunks_of, load, openai_sdk, sdk_differs_from_spec


def rerecord_tricky_cases() -> list[str]:
    """Write the installed SDK's answers into the file; return the cases whose answer changed."""
    tricky = load()
    changed = []
    for case in tricky["cases"]:
        answer = openai_sdk(chunks_of(case))
        if answer != case["openai_sdk"]:
            changed.append(case["name"])
        case["openai_sdk"] = answer
        case["openai_sdk_differs"] = sdk_differs_from_spec(answer, case["expected"])
    tricky["openai_sdk_version"] = openai.__version__
    TRICKY_FILE.write_text(json.dumps(tricky, indent=2, ensure_ascii=True) + "\n", "utf-8")
    return changed


if __name__ == "__main__":
    before = load()["openai_sdk_version"]
    changed = rerecord_tricky_cases()
    print(f"{TRICKY_FILE.name}: recorded with openai {before}, now {openai.__version__}")
    if changed:
        print("  the SDK's answer changed in: " + ", ".join(changed))
        print("  re-read those cases' notes and lesson 2's sentences about them")
    else:
        print("  no answer changed")
