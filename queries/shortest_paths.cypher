// answers: The shortest paths between two entities through asserted relations only (never
//          through publications or evidence), with the predicate and support of each hop.
// param: source (string): the first entity's CURIE, e.g. MESH:D008094
// param: target (string): the second entity's CURIE, e.g. NCBIGene:672
// param: max_hops (int 1..6, default 4): longest path considered
// param: limit (int 1..1000, default 10): at most this many paths
// example: kg query shortest_paths --param source=MESH:D008094 --param target=NCBIGene:672
MATCH (a:Entity {id: $source}), (b:Entity {id: $target})
MATCH p = allShortestPaths((a)-[:{{ASSERTED}}*..6]-(b))
WHERE length(p) <= $max_hops
WITH p
LIMIT $limit
RETURN length(p) AS hops, [n IN nodes(p) | n.id] AS ids, [n IN nodes(p) | n.name] AS names,
       [r IN relationships(p) | r.predicate] AS predicates,
       [r IN relationships(p) | r.paper_count] AS papers
