// answers: What is new since a date: asserted relations whose earliest supporting publication
//          appeared on or after it, newest first, with that date and the supporting PMIDs.
// param: since (date): YYYY, YYYY-MM or YYYY-MM-DD; a paper dated only by year counts from
//        1 January of that year
// param: predicate (predicate, optional): only this predicate
// param: limit (int 1..10000, default 50): at most this many rows
// example: kg query new_since --param since=2015-01 --param predicate=biolink:treats
MATCH (s:Entity)-[r:{{ASSERTED}}]->(o:Entity)
WHERE r.first_year >= toInteger(left($since, 4))
  AND ($predicate IS NULL OR type(r) = $predicate)
CALL (r) {
  MATCH (:Evidence {relation_key: r.key})-[:FROM]->(p:Publication)
  RETURN min(coalesce(p.pub_date, toString(p.year))) AS first_date,
         collect(DISTINCT p.pmid)[0..5] AS pmids
}
WITH s, r, o, first_date, pmids
WHERE first_date >= $since
RETURN first_date, s.id AS subject, s.name AS subject_name, r.predicate AS predicate,
       o.id AS object, o.name AS object_name, r.paper_count AS papers, pmids
ORDER BY first_date DESC, papers DESC, subject, object
LIMIT $limit
