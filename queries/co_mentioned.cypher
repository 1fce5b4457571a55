// answers: Entities mentioned in the same publications as an entity (co-occurrence), with the
//          number of shared papers and whether an asserted relation joins them.
// param: id (string): the entity's CURIE, e.g. MESH:D008094
// param: type (entity_type, optional): only co-mentioned entities of this type
// param: limit (int 1..10000, default 50): at most this many rows
// example: kg query co_mentioned --param id=MESH:D008094 --param type=Disease
MATCH (e:Entity {id: $id})<-[:MENTIONS]-(p:Publication)-[:MENTIONS]->(n:Entity)
WHERE n <> e AND ($type IS NULL OR n.type = $type)
WITH e, n, count(DISTINCT p) AS papers
RETURN n.id AS id, n.type AS type, n.name AS name, papers,
       EXISTS { (e)-[:{{ASSERTED}}]-(n) } AS related
ORDER BY papers DESC, id
LIMIT $limit
