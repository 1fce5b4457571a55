// answers: Chemicals that cause or treat a disease (biolink:causes / biolink:treats edges),
//          strongest support first.
// param: disease (string): the disease's CURIE, name or a mention text, e.g. MESH:D014202 or tremor
// param: predicate (predicate, optional): biolink:causes or biolink:treats; both when omitted
// param: limit (int 1..10000, default 50): at most this many rows
// example: kg query chemicals_for_disease --param disease=MESH:D007674 --param predicate=causes
MATCH (d:Disease)
WHERE d.id = $disease OR toLower(d.name) = toLower($disease)
   OR any(s IN coalesce(d.synonyms, []) WHERE toLower(s) = toLower($disease))
MATCH (c:Chemical)-[r:CAUSES|TREATS]->(d)
WHERE $predicate IS NULL OR type(r) = $predicate
RETURN d.id AS disease, c.id AS id, c.name AS name, r.predicate AS predicate,
       r.paper_count AS papers, r.confidence AS confidence, r.first_year AS first_year,
       r.pmids[0..5] AS pmids
ORDER BY papers DESC, confidence DESC, id
LIMIT $limit
