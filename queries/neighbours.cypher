// answers: The neighbours of an entity through asserted relations, with evidence counts,
//          optionally only one predicate and one neighbour type.
// param: id (string): the entity's CURIE, e.g. MESH:D008094
// param: predicate (predicate, optional): only this predicate (biolink:causes, treats, ...)
// param: type (entity_type, optional): only neighbours of this type
// param: min_papers (int 1.., default 1): only edges supported by at least this many papers
// param: limit (int 1..10000, default 50): at most this many rows
// example: kg query neighbours --param id=MESH:D008094 --param predicate=biolink:causes
MATCH (e:Entity {id: $id})-[r:{{ASSERTED}}]-(n:Entity)
WHERE ($predicate IS NULL OR type(r) = $predicate)
  AND ($type IS NULL OR n.type = $type)
  AND r.paper_count >= $min_papers
RETURN n.id AS id, n.type AS type, n.name AS name, r.predicate AS predicate,
       CASE WHEN startNode(r) = e THEN 'out' ELSE 'in' END AS direction,
       r.paper_count AS papers, r.evidence_count AS evidence, r.confidence AS confidence,
       r.first_year AS first_year, r.last_year AS last_year
ORDER BY papers DESC, confidence DESC, id
LIMIT $limit
