// answers: Entities mentioned in the same publications as an entity (co-occurrence, kept apart
//          from asserted relations), with the number of shared papers and whether an asserted
//          relation joins them; with same_sentence, only papers where they share a sentence.
// param: id (string): the entity's CURIE, e.g. MESH:D008094
// param: type (entity_type, optional): only co-mentioned entities of this type
// param: same_sentence (bool, default false): count a paper only when both are named in one sentence
// param: limit (int 1..10000, default 50): at most this many rows
// example: kg query co_mentioned --param id=MESH:D008094 --param type=Disease --param same_sentence=true
MATCH (e:Entity {id: $id})<-[me:MENTIONS]-(p:Publication)-[mn:MENTIONS]->(n:Entity)
WHERE n <> e AND ($type IS NULL OR n.type = $type)
  AND (NOT $same_sentence
       OR any(s IN coalesce(me.sentences, []) WHERE s IN coalesce(mn.sentences, [])))
WITH e, n, count(DISTINCT p) AS papers
RETURN n.id AS id, n.type AS type, n.name AS name, papers,
       EXISTS { (e)-[:{{ASSERTED}}]-(n) } AS related
ORDER BY papers DESC, id
LIMIT $limit
