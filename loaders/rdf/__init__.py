"""RDF export: the graph as N-Triples, N-Quads, Turtle or JSON-LD, streamed page by page.

* :mod:`loaders.rdf.prefixes` — CURIE ⇄ IRI through the Biolink prefix map (``curies``);
* :mod:`loaders.rdf.graph` — keyset-paged reads of entities, publications, edges, documents;
* :mod:`loaders.rdf.triples` — what each graph record becomes in RDF (docs/decisions/0005);
* :mod:`loaders.rdf.writers` — the streaming serializers;
* :mod:`loaders.rdf.export` — ``export_rdf``, the function behind ``kg export rdf``.
"""
