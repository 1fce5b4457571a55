"""An offline HTML page that draws a discovery result's A–B–C subgraph.

One self-contained file: the data is embedded as JSON and drawn as SVG by a few lines of inline
JavaScript (no CDN, no network). Nodes are coloured by entity type and placed in columns (A, the
intermediates B, the candidates C); edges are coloured by predicate, their width grows with the
number of papers; hovering a node or an edge shows its evidence (PMIDs, years, sentences).
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from queries.hypotheses import DiscoveryResult

#: Entity type -> node colour; predicate -> edge colour (colour-blind-safe Okabe–Ito palette).
TYPE_COLOURS: dict[str, str] = {
    "Chemical": "#E69F00",
    "Disease": "#D55E00",
    "Gene": "#0072B2",
    "Species": "#009E73",
    "Variant": "#CC79A7",
    "CellLine": "#56B4E9",
}
PREDICATE_COLOURS: dict[str, str] = {
    "biolink:causes": "#D55E00",
    "biolink:treats": "#009E73",
    "biolink:associated_with": "#7f7f7f",
    "biolink:positively_correlated_with": "#E69F00",
    "biolink:negatively_correlated_with": "#0072B2",
    "biolink:physically_interacts_with": "#CC79A7",
    "biolink:interacts_with": "#56B4E9",
    "biolink:coexists_with": "#F0E442",
    "biolink:related_to": "#000000",
    "biolink:derives_into": "#8c564b",
}


def subgraph(result: DiscoveryResult) -> dict[str, Any]:
    """The nodes (with a column) and edges (with evidence) that the result's trails use."""
    a = result.source["id"]
    columns: dict[str, int] = {a: 0}
    edges: dict[tuple[str, str], dict[str, Any]] = {}
    for h in result.hypotheses:
        for path in h.trail:
            for i, hop in enumerate(path):
                columns.setdefault(hop.source, i)
                columns.setdefault(hop.target, i + 1)
                pair = (hop.source, hop.target)
                if pair not in edges:
                    edges[pair] = {
                        "source": hop.source,
                        "target": hop.target,
                        "papers": hop.papers,
                        "edges": hop.edges,
                    }
    graph = result.graph
    nodes = [
        {
            "id": n,
            "name": graph.nodes[n].get("name") or n,
            "type": graph.nodes[n].get("type") or "",
            "column": col,
        }
        for n, col in columns.items()
    ]
    return {"nodes": nodes, "edges": list(edges.values())}


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 16px; color: #222; }}
h1 {{ font-size: 18px; margin: 0 0 4px; }}
.sub {{ color: #666; margin-bottom: 8px; }}
svg {{ border: 1px solid #ddd; background: #fcfcfc; }}
#tip {{ position: absolute; display: none; max-width: 460px; background: #fff; border: 1px solid
  #999; padding: 8px; box-shadow: 2px 2px 6px rgba(0,0,0,.2); font-size: 12px; }}
#tip p {{ margin: 4px 0; }}
.legend span {{ display: inline-block; margin-right: 12px; }}
.sw {{ display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }}
table {{ border-collapse: collapse; margin-top: 12px; font-size: 13px; }}
td, th {{ border-bottom: 1px solid #eee; padding: 3px 8px; text-align: left; }}
</style></head><body>
<h1>{title}</h1><div class="sub">{subtitle}</div>
<div class="legend" id="legend"></div>
<svg id="g" xmlns="http://www.w3.org/2000/svg"></svg>
<div id="tip"></div>
{table}
<script id="data" type="application/json">{data}</script>
<script>
(function () {{
  const D = JSON.parse(document.getElementById('data').textContent);
  const svg = document.getElementById('g'), tip = document.getElementById('tip');
  const NS = 'http://www.w3.org/2000/svg';
  const cols = {{}};
  D.nodes.forEach(n => (cols[n.column] = cols[n.column] || []).push(n));
  const ncol = Object.keys(cols).length, rowH = 34, colW = 330;
  const maxRows = Math.max(...Object.values(cols).map(c => c.length));
  const W = 140 + colW * (ncol - 1) + 220, H = Math.max(200, 40 + rowH * maxRows);
  svg.setAttribute('width', W); svg.setAttribute('height', H);
  const pos = {{}};
  Object.entries(cols).forEach(([c, list]) => {{
    const top = (H - rowH * (list.length - 1)) / 2;
    list.forEach((n, i) => (pos[n.id] = [90 + colW * c, top + rowH * i]));
  }});
  function el(tag, attrs) {{
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    svg.appendChild(e); return e;
  }}
  function esc(s) {{ return String(s ?? '').replace(/[&<>"]/g, c => ({{'&':'&amp;','<':'&lt;',
    '>':'&gt;','"':'&quot;'}})[c]); }}
  function show(ev, htmlText) {{ tip.innerHTML = htmlText; tip.style.display = 'block';
    tip.style.left = (ev.pageX + 12) + 'px'; tip.style.top = (ev.pageY + 12) + 'px'; }}
  function hide() {{ tip.style.display = 'none'; }}
  function edgeHtml(e) {{
    return e.edges.map(x => '<p><b>' + esc(x.subject) + ' ' + esc(x.predicate) + ' ' +
      esc(x.object) + '</b><br>' + x.papers + ' paper(s), confidence ' +
      (x.confidence == null ? '?' : (+x.confidence).toFixed(3)) + ', first ' + esc(x.first_year) +
      '<br>PMIDs: ' + x.pmids.map(esc).join(', ') + '</p>' +
      x.evidence.map(v => '<p>PMID ' + esc(v.pmid) + ' (' + esc(v.year) + '): <i>' +
        esc(v.sentence || '(document-level annotation)') + '</i></p>').join('')).join('');
  }}
  D.edges.forEach(e => {{
    const [x1, y1] = pos[e.source], [x2, y2] = pos[e.target];
    const len = Math.hypot(x2 - x1, y2 - y1) || 1, nx = -(y2 - y1) / len, ny = (x2 - x1) / len;
    e.edges.forEach((x, i) => {{
      const off = (i - (e.edges.length - 1) / 2) * 5;
      const line = el('line', {{x1: x1 + nx * off, y1: y1 + ny * off, x2: x2 + nx * off,
        y2: y2 + ny * off, stroke: D.predColours[x.predicate] || '#999', 'stroke-opacity': 0.8,
        'stroke-width': Math.min(10, 1.5 + Math.log2(1 + x.papers) * 1.5)}});
      line.addEventListener('mousemove', ev => show(ev, edgeHtml(e)));
      line.addEventListener('mouseleave', hide);
    }});
  }});
  D.nodes.forEach(n => {{
    const [x, y] = pos[n.id];
    const c = el('circle', {{cx: x, cy: y, r: n.column === 0 ? 11 : 8,
      fill: D.typeColours[n.type] || '#aaa', stroke: '#333'}});
    const t = el('text', {{x: x + 13, y: y + 4, 'font-size': 12, stroke: '#fff',
      'stroke-width': 3, 'paint-order': 'stroke'}});
    t.textContent = n.name.length > 38 ? n.name.slice(0, 37) + '…' : n.name;
    const txt = '<p><b>' + esc(n.name) + '</b> (' + esc(n.type) + ')<br>' + esc(n.id) + '</p>';
    [c, t].forEach(e => {{ e.addEventListener('mousemove', ev => show(ev, txt));
      e.addEventListener('mouseleave', hide); }});
  }});
  // '#hover' in the address opens the first edge's evidence, for screenshots and printing.
  if (location.hash === '#hover' && D.edges.length) {{
    const e = D.edges[0], [x1, y1] = pos[e.source], [x2, y2] = pos[e.target];
    const box = svg.getBoundingClientRect();
    show({{pageX: box.left + window.scrollX + (x1 + x2) / 2,
          pageY: box.top + window.scrollY + (y1 + y2) / 2}}, edgeHtml(e));
  }}
  const lg = document.getElementById('legend');
  const types = [...new Set(D.nodes.map(n => n.type))];
  const preds = [...new Set(D.edges.flatMap(e => e.edges.map(x => x.predicate)))];
  lg.innerHTML = types.map(t => '<span><i class="sw" style="background:' +
      (D.typeColours[t] || '#aaa') + ';border-radius:6px"></i>' + esc(t) + '</span>').join('') +
    ' &nbsp; ' + preds.map(p => '<span><i class="sw" style="background:' +
      (D.predColours[p] || '#999') + '"></i>' + esc(p) + '</span>').join('');
}})();
</script></body></html>
"""


def _table(result: DiscoveryResult) -> str:
    head = "".join(f"<th>{html.escape(m)}</th>" for m in result.hypotheses[0].scores)
    rows = []
    for rank, h in enumerate(result.hypotheses, start=1):
        cells = "".join(f"<td>{v:.4g}</td>" for v in h.scores.values())
        rows.append(
            f"<tr><td>{rank}</td><td>{html.escape(h.name)}</td><td>{html.escape(h.id)}</td>"
            f"<td>{html.escape(h.type)}</td>{cells}</tr>"
        )
    return (
        f"<table><tr><th>#</th><th>name</th><th>id</th><th>type</th>{head}</tr>"
        + "".join(rows)
        + "</table>"
    )


def render_html(result: DiscoveryResult) -> str:
    """The page as a string (see the module doc)."""
    a = result.source
    if result.kind == "open":
        title = f"Open discovery from {a['name']} ({a['id']})"
        subtitle = (
            f"{len(result.hypotheses)} of {result.candidates} candidates C, ranked by "
            f"{result.measure}; hover nodes and edges for evidence"
        )
    else:
        c = result.target or {}
        title = f"Closed discovery: {a['name']} ({a['id']}) … {c.get('name')} ({c.get('id')})"
        subtitle = f"{result.candidates} intermediates B; hover nodes and edges for evidence"
    data = {
        **subgraph(result),
        "typeColours": TYPE_COLOURS,
        "predColours": PREDICATE_COLOURS,
    }
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return _PAGE.format(
        title=html.escape(title),
        subtitle=html.escape(subtitle),
        table=_table(result) if result.hypotheses else "<p>No hypotheses.</p>",
        data=payload,
    )


def write_html(result: DiscoveryResult, out: Path) -> Path:
    """Write the page to ``out`` (creating its folder); returns ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(result), encoding="utf-8")
    return out
