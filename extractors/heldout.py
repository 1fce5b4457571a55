"""The PMIDs of the corpora's dev splits, kept out of everything trained or built from train.

The corpora share abstracts: 44 of BioRED's training abstracts are in BC5CDR's dev split, and 10
of BC5CDR's training abstracts are in BioRED's. A model or lexicon built from a training split
that holds a dev abstract would be scored, on dev, on text it has learned. Every builder that
reads training splits (``kg train ner``, ``kg train re``, ``kg vocab build``) leaves out the
documents whose PMIDs are in a dev split found next to them.
"""

from __future__ import annotations

import re
from pathlib import Path

#: Dev splits, relative to a corpora folder laid out like ``../shared/data/corpora``.
DEV_SPLITS = ("bc5cdr/dev.pubtator", "biored/dev.pubtator", "ncbi_disease/dev.txt")
_TITLE = re.compile(r"^(\d+)\|t\|")


def dev_pmids(corpora_dir: Path) -> frozenset[str]:
    """PMIDs of the dev splits under ``corpora_dir`` (those that exist)."""
    found: set[str] = set()
    for name in DEV_SPLITS:
        path = corpora_dir / name
        if path.is_file():
            with path.open(encoding="utf-8") as fh:
                found.update(m.group(1) for line in fh if (m := _TITLE.match(line)))
    return frozenset(found)
