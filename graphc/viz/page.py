"""The interactive HTML page of ``graphc viz``: one self-contained file (styles, script and the
drawings as JSON inline; nothing fetched, so it opens offline). It draws the layout of
``model.py`` as SVG: drag to pan, the wheel to zoom, click a box for its op, type, attributes,
source line and code, search boxes by op name, switch between the pipeline's stages; forward,
gradient and tangent nodes have their own colours, and nested graphs (loop bodies, branches,
fused kernels) are dashed clusters inside the node that holds them."""

from __future__ import annotations

import html
import json

_STYLE = """
body{margin:0;font:13px Helvetica,Arial,sans-serif;display:flex;height:100vh;color:#222}
#side{width:330px;padding:10px;border-right:1px solid #ccc;overflow:auto;background:#fafafa}
#main{flex:1;position:relative;overflow:hidden;background:#fff}
svg{width:100%;height:100%;cursor:grab}
.box rect{stroke:#445;stroke-width:1;rx:5}
.box text{font-size:11px;pointer-events:none}
.box.hit rect{stroke:#d00;stroke-width:3}
.box.sel rect{stroke:#06c;stroke-width:3}
.cluster{fill:none;stroke:#999;stroke-dasharray:5 3}
.ctitle{font-size:10px;fill:#666}
.edge{stroke:#888;stroke-width:1;fill:none;marker-end:url(#arrow)}
table{border-collapse:collapse}td{border-bottom:1px solid #eee;padding:2px 4px;vertical-align:top}
code{background:#eef;padding:1px 3px;white-space:pre-wrap}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 8px;border:1px solid #445}
"""

_SCRIPT = r"""
const FILL = {fwd: '#dbe9ff', bwd: '#ffe2c6', jvp: '#d9f2d9'};
const NS = 'http://www.w3.org/2000/svg';
const svg = document.getElementById('canvas');
const root = document.getElementById('root');
let view = {x: 0, y: 0, k: 1}, boxes = [];
function el(tag, attrs, parent) {
  const e = document.createElementNS(NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function place() {
  root.setAttribute('transform', `translate(${view.x},${view.y}) scale(${view.k})`);
}
function drawGraph(g, parent) {
  const byId = {};
  for (const b of g.boxes) byId[b.id] = b;
  for (const [a, c] of g.edges) {
    const p = byId[a], q = byId[c];
    el('path', {class: 'edge', d: `M${p.x + p.w / 2},${p.y + p.h} ` +
      `L${q.x + q.w / 2},${q.y}`}, parent);
  }
  for (const b of g.boxes) {
    const grp = el('g', {class: 'box', 'data-id': b.id, 'data-op': b.op || b.kind,
                         transform: `translate(${b.x},${b.y})`}, parent);
    const fill = b.kind === 'node' ? (FILL[b.phase] || '#eee') : '#f4f4f4';
    el('rect', {width: b.w, height: b.children ? 22 : b.h, fill: fill}, grp);
    const t = el('text', {x: 8, y: 17}, grp);
    t.textContent = b.kind === 'node' ? b.label : b.title;
    grp.addEventListener('click', ev => { ev.stopPropagation(); select(b, grp); });
    boxes.push([b, grp]);
    for (const kid of b.children || []) {
      const sub = el('g', {transform: `translate(${b.x + kid.x},${b.y + kid.y})`}, parent);
      el('rect', {class: 'cluster', x: -4, y: -4, width: kid.w + 8, height: kid.h + 8}, sub);
      const ct = el('text', {class: 'ctitle', x: 2, y: 10}, sub);
      ct.textContent = kid.key + ': ' + kid.name;
      drawGraph(kid, sub);
    }
  }
}
function esc(s) { const d = document.createElement('div'); d.textContent = s; return d.innerHTML; }
function select(b, grp) {
  for (const [, g] of boxes) g.classList.remove('sel');
  grp.classList.add('sel');
  let rows = `<tr><td>op</td><td><b>${esc(b.op || b.kind)}</b></td></tr>` +
    `<tr><td>value</td><td><code>${esc(b.title)}</code></td></tr>`;
  if (b.inputs) rows += `<tr><td>operands</td><td>${esc(b.inputs.join(', '))}</td></tr>`;
  for (const k in b.attrs || {}) {
    rows += `<tr><td>${esc(k)}</td><td><code>${esc(b.attrs[k])}</code></td></tr>`;
  }
  if (b.phase && b.kind === 'node') rows += `<tr><td>phase</td><td>${esc(b.phase)}</td></tr>`;
  if (b.loc) rows += `<tr><td>source</td><td>${esc(b.loc)}</td></tr>`;
  if (b.code) rows += `<tr><td>code</td><td><code>${esc(b.code)}</code></td></tr>`;
  document.getElementById('details').innerHTML = `<table>${rows}</table>`;
}
function search(q) {
  q = q.trim().toLowerCase();
  let n = 0;
  for (const [b, g] of boxes) {
    const hit = q !== '' && (b.op || b.kind).toLowerCase().includes(q);
    g.classList.toggle('hit', hit);
    n += hit;
  }
  document.getElementById('hits').textContent = q ? `${n} match${n === 1 ? '' : 'es'}` : '';
}
function show(stage) {
  root.innerHTML = ''; boxes = [];
  const g = STAGES[stage];
  drawGraph(g, root);
  const r = svg.getBoundingClientRect();
  view.k = Math.min(1, r.width / (g.w + 40), r.height / (g.h + 40)) || 1;
  view.x = 20; view.y = 20; place();
  document.getElementById('summary').textContent =
    `${g.name}: ${countNodes(g)} nodes (nested included)`;
  search(document.getElementById('q').value);
}
function countNodes(g) {
  let n = 0;
  for (const b of g.boxes) {
    if (b.kind === 'node') n++;
    for (const k of b.children || []) n += countNodes(k);
  }
  return n;
}
let drag = null;
svg.addEventListener('mousedown', e => { drag = [e.clientX - view.x, e.clientY - view.y]; });
window.addEventListener('mouseup', () => { drag = null; });
window.addEventListener('mousemove', e => {
  if (drag) { view.x = e.clientX - drag[0]; view.y = e.clientY - drag[1]; place(); }
});
svg.addEventListener('wheel', e => {
  e.preventDefault();
  const f = e.deltaY < 0 ? 1.15 : 1 / 1.15, r = svg.getBoundingClientRect();
  const mx = e.clientX - r.left, my = e.clientY - r.top;
  view.x = mx - (mx - view.x) * f; view.y = my - (my - view.y) * f; view.k *= f; place();
}, {passive: false});
const pick = document.getElementById('stage');
for (const s in STAGES) {
  const o = document.createElement('option');
  o.value = s; o.textContent = s; pick.appendChild(o);
}
pick.addEventListener('change', () => show(pick.value));
document.getElementById('q').addEventListener('input', e => search(e.target.value));
show(Object.keys(STAGES)[0]);
"""


def to_html(drawings: dict, title: str) -> str:
    """The page for ``{stage name: drawing}`` (the first stage shown first)."""
    data = json.dumps(drawings, separators=(",", ":")).replace("</", "<\\/")
    legend = "".join(f'<span style="background:{c}"></span>{p}'
                     for p, c in (("forward", "#dbe9ff"), ("gradient", "#ffe2c6"),
                                  ("tangent", "#d9f2d9")))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style></head>
<body><div id="side"><h3>{html.escape(title)}</h3>
<p>stage <select id="stage"></select></p>
<p><input id="q" placeholder="search op name" size="24"> <span id="hits"></span></p>
<p id="summary"></p><p class="legend">{legend}</p>
<p><small>drag to pan, wheel to zoom, click a node</small></p><div id="details"></div></div>
<div id="main"><svg id="canvas"><defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5"
markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"
fill="#888"/></marker></defs><g id="root"></g></svg></div>
<script>const STAGES = {data};</script>
<script>{_SCRIPT}</script>
</body></html>
"""
