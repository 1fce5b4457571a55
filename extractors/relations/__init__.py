"""Relation extraction: document-level typed relations between the entities of a document.

* :mod:`.candidates` — entities of a document (mentions grouped by identifier) and the pairs a
  relation may join (the schema's allowed type pairs);
* :mod:`.scorer` — the default model: one encoder pass per document with entity markers,
  entity embeddings pooled over their mentions, one sigmoid per relation type per pair;
* :mod:`.hf` — any Hugging Face sequence-classification checkpoint, one pass per pair;
* :mod:`.base` — the backend protocol and registry (``default``, ``re:PATH``, ``hf:PATH``);
* :mod:`.train` — ``kg train re``;
* :mod:`.extractor` — entities then relations, as one pipeline extractor.
"""

#: What the default model's encoder reads of a document (``context`` in ``relations.json``;
#: :mod:`.scorer`): the whole ``abstract``, or the ``pair_sentences`` that mention an entity of
#: a candidate pair. Here, not in :mod:`.scorer`, so that the command line can offer the
#: choices without importing the model code at start-up.
CONTEXTS = ("abstract", "pair_sentences")
