// answers: Genes with an asserted relation to a disease (associated, positively or negatively
//          correlated, ...), strongest support first.
// param: disease (string): the disease's CURIE, name or a mention text, e.g. MESH:D003924
// param: predicate (predicate, optional): only this predicate
// param: limit (int 1..10000, default 50): at most this many rows
// example: kg query genes_for_disease --param disease=MESH:D003924
MATCH (d:Disease)
WHERE d.id = $disease OR toLower(d.name) = toLower($disease)
   OR any(s IN coalesce(d.synonyms, []) WHERE toLower(s) = toLower($disease))
MATCH (g:Gene)-[r:{{ASSERTED}}]-(d)
WHERE $predicate IS NULL OR type(r) = $predicate
RETURN d.id AS disease, g.id AS id, g.name AS name, r.predicate AS predicate,
       r.paper_count AS papers, r.confidence AS confidence, r.first_year AS first_year,
       r.pmids[0..5] AS pmids
ORDER BY papers DESC, confidence DESC, id
LIMIT $limit
