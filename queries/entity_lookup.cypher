// answers: Entities by name, synonym or identifier (case-insensitive): exact ID or name first,
//          then exact synonyms, then names and synonyms that contain the text; with paper counts.
// param: q (string): a name, synonym or CURIE, e.g. lithium or MESH:D008094
// param: type (entity_type, optional): only entities of this type (Chemical, Disease, Gene, ...)
// param: limit (int 1..1000, default 25): at most this many rows
// example: kg query entity_lookup --param q=lithium --param type=Chemical
WITH toLower($q) AS q
MATCH (e:Entity)
WHERE ($type IS NULL OR e.type = $type)
  AND (e.id = $q OR toLower(e.name) CONTAINS q
       OR any(s IN coalesce(e.synonyms, []) WHERE toLower(s) CONTAINS q))
WITH e,
     CASE
       WHEN e.id = $q OR toLower(e.name) = q THEN 0
       WHEN any(s IN coalesce(e.synonyms, []) WHERE toLower(s) = q) THEN 1
       ELSE 2
     END AS match_rank
RETURN e.id AS id, e.type AS type, e.name AS name, e.synonyms AS synonyms,
       COUNT { (e)<-[:MENTIONS]-(:Publication) } AS papers, match_rank
ORDER BY match_rank, papers DESC, id
LIMIT $limit
