// answers: The evidence for the edge(s) between two entities: sentence, PMID, year, title,
//          score, extractor, relation type as stated; either direction.
// param: subject (string): one end's CURIE, e.g. MESH:D008094
// param: object (string): the other end's CURIE, e.g. MESH:D014202
// param: predicate (predicate, optional): only this predicate
// param: limit (int 1..10000, default 100): at most this many rows
// example: kg query edge_evidence --param subject=MESH:D008094 --param object=MESH:D014202
MATCH (s:Entity {id: $subject})-[r:{{ASSERTED}}]-(o:Entity {id: $object})
WHERE $predicate IS NULL OR type(r) = $predicate
MATCH (ev:Evidence {relation_key: r.key})-[:FROM]->(p:Publication)
RETURN r.predicate AS predicate, startNode(r).id AS subject, endNode(r).id AS object,
       p.pmid AS pmid, p.year AS year, p.title AS title, ev.relation_type AS relation_type,
       ev.sentence AS sentence, ev.score AS score, ev.extractor AS extractor, ev.novel AS novel
ORDER BY score DESC, year, pmid
LIMIT $limit
