"""Jinja2 templates of maskforge's HTML pages (kept in Python so they ship with the package):
the audit report (INDEX, PAGE, REDIRECT) and the run summary (PIPELINE). :func:`render` is the
one way they become HTML (autoescaped, undefined names are errors)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def render(template: str, **context: Any) -> str:
    """Render one of this module's templates with ``context`` (values are HTML-escaped)."""
    return _environment().from_string(template).render(**context)


def markup(text: str) -> jinja2.utils.markupsafe.Markup:
    """Trusted HTML/CSS/JS of this module, inserted unescaped."""
    return jinja2.utils.markupsafe.Markup(text)

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.2em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin:1.2em 0 .4em}
table{border-collapse:collapse;font-size:.9em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}
th.sort{cursor:pointer;background:#f0f0f0}th.sort:after{content:" \\21C5";color:#999}
td.n{text-align:right}
.nav{margin:.6em 0}.nav a{margin-right:1em}
.ident{border-top:2px solid #888;padding-top:.5em;margin-top:1em}
.row{display:flex;gap:1.5em;align-items:flex-start;flex-wrap:wrap}
.strip{display:flex;gap:4px;background:#eef5ee;padding:6px;border-radius:4px}
.cards{display:flex;gap:8px;flex-wrap:wrap}
figure{margin:0;font-size:.75em;width:140px}
figure img{width:128px;height:auto;display:block;border:3px solid transparent}
figure.flag img{border-color:#d62728}figure.white img{border-color:#2ca02c}
figure.typ img{border-color:#7fbf7f}
figcaption{word-break:break-all}
button{font-size:.8em;margin-top:2px}
.muted{color:#777}
"""

SCRIPT = """
function copyText(t){
  if(navigator.clipboard&&window.isSecureContext){navigator.clipboard.writeText(t).catch(function(){fallback(t)})}
  else{fallback(t)}
}
function fallback(t){var a=document.createElement('textarea');a.value=t;document.body.appendChild(a);
  a.select();try{document.execCommand('copy')}catch(e){}document.body.removeChild(a)}
function copyLine(b){copyText(b.getAttribute('data-line')+'\\n');b.textContent='copied';}
function copyAll(){var l=[];document.querySelectorAll('button[data-line]').forEach(function(b){
  l.push(b.getAttribute('data-line'))});copyText('path\\n'+l.join('\\n')+'\\n');}
function sortTable(th){
  var table=th.closest('table'),body=table.tBodies[0],idx=Array.prototype.indexOf.call(th.parentNode.children,th);
  var num=th.getAttribute('data-num')==='1',dir=th.getAttribute('data-dir')==='asc'?'desc':'asc';
  th.setAttribute('data-dir',dir);
  var rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,b){var x=a.cells[idx].getAttribute('data-v'),y=b.cells[idx].getAttribute('data-v');
    if(num){x=parseFloat(x);y=parseFloat(y);if(isNaN(x))x=-1e9;if(isNaN(y))y=-1e9;}
    var c=x<y?-1:x>y?1:0;return dir==='asc'?c:-c;});
  rows.forEach(function(r){body.appendChild(r)});
}
window.addEventListener('load',function(){var im=document.images,ok=0;
  for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0)ok++;}
  document.body.setAttribute('data-images-total',im.length);
  document.body.setAttribute('data-images-loaded',ok);});
"""

INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>maskforge audit: {{ title }}</title>
<style>{{ style }}</style></head>
<body>
<h1>Mislabelled-image audit{% if title %}: {{ title }}{% endif %}</h1>
{% if links %}<div class="nav">{% for label, href in links %}<a href="{{ href }}">{{ label }}</a>{% endfor %}</div>{% endif %}
<table>
<tr><th>images</th><td class="n">{{ s.images }}</td></tr>
<tr><th>identities</th><td class="n">{{ s.identities }} ({{ s.identities_cleaned }} cleaned,
  {{ s.identities_not_cleaned }} with too few images)</td></tr>
<tr><th>scored images</th><td class="n">{{ s.scored }}</td></tr>
<tr><th>flagged</th><td class="n">{{ s.flagged }}{% for r, k in s.flagged_by_reason.items() %}
  <span class="muted">({{ r }}: {{ k }})</span>{% endfor %}</td></tr>
<tr><th>whitelisted (keep.csv)</th><td class="n">{{ s.whitelisted }}</td></tr>
<tr><th>rejected (no usable face)</th><td class="n">{{ s.rejected }}</td></tr>
<tr><th>method</th><td>{{ s.method }}</td></tr>
<tr><th>threshold</th><td>{{ threshold_text }}</td></tr>
<tr><th>embedder</th><td>{{ s.embedder }}{% if s.embedder_info.get('sha256') %}
  <span class="muted">sha256 {{ s.embedder_info.get('sha256')[:16] }}…</span>{% endif %}</td></tr>
{% if s.action %}<tr><th>action</th><td>{{ s.action }}</td></tr>{% endif %}
{% if s.source_root %}<tr><th>source</th><td>{{ s.source_root }}</td></tr>{% endif %}
</table>
<h2>Scores</h2>
<img src="histogram.svg" alt="histogram of clean scores with the threshold" width="800">
<h2>Flagged images, by page</h2>
<div class="nav">{% for p in range(1, n_pages + 1) %}<a href="pages/page-{{ '%04d' % p }}.html">page {{ p }}</a>{% endfor %}
{% if not n_pages %}<span class="muted">nothing flagged</span>{% endif %}</div>
<h2>Identities</h2>
<p class="muted">Click a column header to sort.</p>
<table id="identities"><thead><tr>
<th class="sort" onclick="sortTable(this)">identity</th>
<th class="sort" data-num="1" onclick="sortTable(this)">images</th>
<th class="sort" data-num="1" onclick="sortTable(this)">flagged</th>
<th class="sort" data-num="1" onclick="sortTable(this)">whitelisted</th>
<th class="sort" data-num="1" onclick="sortTable(this)">threshold</th>
<th class="sort" data-num="1" onclick="sortTable(this)">median score</th>
<th>page</th></tr></thead><tbody>
{% for d in identities %}<tr><td data-v="{{ d.name }}">{{ d.name }}</td>
<td class="n" data-v="{{ d.images }}">{{ d.images }}</td>
<td class="n" data-v="{{ d.flagged }}">{{ d.flagged }}</td>
<td class="n" data-v="{{ d.whitelisted }}">{{ d.whitelisted }}</td>
<td class="n" data-v="{{ fmt(d.threshold) }}">{{ fmt(d.threshold) if d.cleaned else 'not cleaned' }}</td>
<td class="n" data-v="{{ fmt(d.median_score) }}">{{ fmt(d.median_score) }}</td>
<td>{% if d.page %}<a href="pages/page-{{ '%04d' % d.page }}.html#{{ anchor(d.name) }}">{{ d.page }}</a>{% endif %}</td></tr>
{% endfor %}</tbody></table>
<script>{{ script }}</script>
</body></html>
"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>audit page {{ page }} of {{ n_pages }}</title>
<style>{{ style }}</style></head>
<body>
<div class="nav"><a href="../index.html">summary</a>
{% if page > 1 %}<a href="page-{{ '%04d' % (page - 1) }}.html">&larr; previous</a>{% endif %}
{% if page < n_pages %}<a href="page-{{ '%04d' % (page + 1) }}.html">next &rarr;</a>{% endif %}
<span class="muted">page {{ page }} of {{ n_pages }}</span>
<button onclick="copyAll()">copy keep.csv lines of this page</button></div>
<p class="muted">Red: flagged (score &gt; threshold). Green strip: the identity's most typical images
(lowest scores). Scores are RMS/mean L2 distances to the identity's images. "keep" copies a
keep.csv line; pass the file with <code>--keep</code> on the next run to keep the image.</p>
{% for d, items in entries %}
<div class="ident" id="{{ anchor(d.name) }}">
<h2>{{ d.name }} <span class="muted">{{ d.images }} images, {{ d.flagged }} flagged,
threshold {{ fmt(d.threshold) }}, median score {{ fmt(d.median_score) }}</span></h2>
<div class="row">
<div class="strip">{% for t in d.typical %}<figure class="typ"><img src="../thumbnails/{{ thumbs[t.sample_id] }}" alt="typical {{ t.source_path }}">
<figcaption>{{ basename(t.source_path) }}<br>score {{ fmt(t.score) }}{% if notes.get(t.sample_id) %}
<br><span class="muted">not shown: {{ notes[t.sample_id] }}</span>{% endif %}</figcaption></figure>{% endfor %}
{% if not d.typical %}<span class="muted">no typical images</span>{% endif %}</div>
<div class="cards">{% for f in items %}
<figure class="{{ 'white' if f.status == 'whitelisted' else 'flag' }}"><img src="../thumbnails/{{ thumbs[f.sample_id] }}" alt="{{ f.source_path }}">
<figcaption>{{ basename(f.source_path) }}<br>score <b>{{ fmt(f.score) }}</b> &gt; {{ fmt(f.threshold) }}
{% if f.reason %}<br>{{ f.reason }}{% endif %}
{% if f.nearest_identity %}<br>nearest: {{ f.nearest_identity }} ({{ fmt(f.nearest_distance) }}){% endif %}
{% if f.status == 'whitelisted' %}<br>whitelisted{% endif %}
{% if notes.get(f.sample_id) %}<br><span class="muted">not shown: {{ notes[f.sample_id] }}</span>{% endif %}
<br><button data-line="{{ csv(f.source_path) }}" onclick="copyLine(this)">keep</button></figcaption></figure>
{% endfor %}</div></div></div>
{% endfor %}
<script>{{ script }}</script>
</body></html>
"""

REDIRECT = """<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="refresh" content="0; url=report/index.html"><title>audit report</title></head>
<body><a href="report/index.html">audit report</a></body></html>
"""

PIPELINE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>maskforge run</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse}
td{border:1px solid #ccc;padding:2px 8px}img{max-width:100%}</style></head>
<body><h1>maskforge run: {{ output }}</h1>
{% if audit_link %}<p><a href="index.html">Cleaning audit</a></p>{% endif %}
{% for title, rows in sections %}<h2>{{ title }}</h2>
{% if rows %}<table>{% for k, v in rows %}<tr><td>{{ k }}</td><td>{{ v }}</td></tr>{% endfor %}</table>
{% else %}<p>none</p>{% endif %}
{% endfor %}
{% if sheet %}<h2>Sample contact sheet</h2><img src="{{ sheet }}" alt="contact sheet">{% endif %}
</body></html>
"""
