"""Named-entity recognition: corpora, the trained tagger, and pluggable backends."""
