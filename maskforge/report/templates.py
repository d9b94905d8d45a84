"""Jinja2 templates of maskforge's HTML pages (kept in Python so they ship with the package):
the audit report (INDEX, PAGE, REDIRECT), the run summary (PIPELINE) and the evaluation reports
(EVAL_PAIRS, EVAL_IDENTIFY). :func:`render` is the
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

#: ``maskforge eval pairs``: report.html (see :mod:`maskforge.eval.report`).
EVAL_PAIRS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>maskforge eval: {{ m.embedder }}, mask {{ m.mask }}</title>
<style>{{ style }}
.pair{display:flex;gap:2px;margin:0 0 .3em}.pair img{width:112px;height:112px}
.pairs{display:flex;flex-wrap:wrap;gap:10px}</style></head>
<body>
<h1>Verification: {{ m.embedder }}, mask {{ m.mask }}</h1>
<table>
<tr><th>pairs</th><td class="n">{{ m.pairs }} ({{ m.matched }} matched, {{ m.mismatched }} mismatched)</td></tr>
<tr><th>accuracy ({{ m.folds }}-fold)</th><td class="n">{{ pct(m.accuracy) }} &plusmn; {{ pct(m.accuracy_std) }}</td></tr>
<tr><th>best threshold (all pairs)</th><td class="n">{{ fmt(m.threshold) }} (accuracy {{ pct(m.threshold_accuracy) }})</td></tr>
<tr><th>AUC</th><td class="n">{{ '%.4f' % m.auc }}</td></tr>
<tr><th>EER</th><td class="n">{{ pct(m.eer) }}</td></tr>
<tr><th>failures</th><td class="n">{{ m.failures.images }} images, {{ m.failures.pairs }} pairs</td></tr>
<tr><th>occluder</th><td>{{ m.occluder or 'none' }}</td></tr>
</table>
<h2>TAR at FAR</h2>
<table><tr><th>FAR</th><th>TAR</th><th>threshold</th><th>false accepts / impostor pairs</th></tr>
{% for far, r in m.tar_at_far.items() %}<tr><td>{{ far }}</td>
<td class="n">{% if r.resolvable %}{{ pct(r.tar) }}{% else %}<span class="muted">unresolvable: {{ r.impostors }} impostor pairs resolve FAR &ge; {{ '%.1g' % (1.0 / r.impostors) }}</span>{% endif %}</td>
<td class="n">{{ fmt(r.threshold) }}</td><td class="n">{{ r.false_accepts }} / {{ r.impostors }}</td></tr>
{% endfor %}</table>
<h2>ROC</h2>
<img src="roc.png" alt="ROC curve" width="640">
{% for title, items in sections %}
<h2>{{ title }}</h2>
{% if not items %}<p class="muted">none</p>{% endif %}
<div class="pairs">{% for it in items %}<figure style="width:auto">
<div class="pair"><img src="{{ it.a }}" alt="{{ it.path_a }}"><img src="{{ it.b }}" alt="{{ it.path_b }}"></div>
<figcaption>{{ it.path_a }}{% if it.ma %} (masked){% endif %}<br>{{ it.path_b }}{% if it.mb %} (masked){% endif %}<br>distance <b>{{ fmt(it.d) }}</b></figcaption></figure>
{% endfor %}</div>
{% endfor %}
<h2>Failures (no embedding)</h2>
{% if not failures %}<p class="muted">none</p>{% else %}<table><tr><th>image</th><th>reason</th><th>detail</th></tr>
{% for f in failures %}<tr><td>{{ f.path }}</td><td>{{ f.reason }}</td><td>{{ f.detail }}</td></tr>{% endfor %}</table>{% endif %}
<script>{{ script }}</script>
</body></html>
"""

#: ``maskforge eval identify``: report.html (see :mod:`maskforge.eval.identify_report`).
EVAL_IDENTIFY = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>maskforge eval identify: {{ m.embedder }}, mask {{ m.mask }}</title>
<style>{{ style }}
.trio{display:flex;gap:2px;margin:0 0 .3em}.trio img{width:112px;height:112px}
.trios{display:flex;flex-wrap:wrap;gap:10px}</style></head>
<body>
<h1>Identification: {{ m.embedder }}, mask {{ m.mask }}</h1>
<table>
<tr><th>probes</th><td class="n">{{ m.probes }}{% if m.mask == 'probes' %} (masked: {{ m.occluder }}){% endif %}</td></tr>
<tr><th>gallery</th><td class="n">{{ m.gallery_images }} images of {{ m.gallery_identities }} identities ({{ m.gallery_per_identity }} per identity, never masked)</td></tr>
<tr><th>rank-1</th><td class="n">{{ pct(m.rank1) }}</td></tr>
<tr><th>rank-5</th><td class="n">{{ pct(m.rank5) }}</td></tr>
<tr><th>failures</th><td class="n">{{ m.failures.images }} images ({{ m.failures.probes }} probes, {{ m.failures.gallery }} gallery)</td></tr>
<tr><th>seed, crop size</th><td class="n">{{ m.seed }}, {{ m.size }} px</td></tr>
</table>
<h2>Open set at FPIR {{ m.open_set.far }}</h2>
<table>
<tr><th>threshold</th><td class="n">{{ fmt(m.open_set.threshold) }}</td></tr>
<tr><th>FPIR (non-mated searches accepted)</th><td class="n">{{ pct(m.open_set.fpir) }} of {{ m.open_set.non_mated }}</td></tr>
<tr><th>DIR (identified at rank 1 within the threshold)</th><td class="n">{{ pct(m.open_set.dir) }}</td></tr>
<tr><th>accuracy (mated and non-mated searches)</th><td class="n">{{ pct(m.open_set.accuracy) }}</td></tr>
{% if not m.open_set.resolvable %}<tr><td colspan="2" class="muted">unresolvable: {{ m.open_set.non_mated }} non-mated searches cannot resolve FPIR {{ m.open_set.far }}</td></tr>{% endif %}
</table>
<h2>Rank of the probe's own identity</h2>
<table><tr><th>rank</th><th>probes</th></tr>
{% for label, count in ranks %}<tr><td>{{ label }}</td><td class="n">{{ count }}</td></tr>{% endfor %}</table>
<h2>Most confident misidentifications (probe, nearest gallery image, own gallery image)</h2>
{% if not wrong %}<p class="muted">none</p>{% endif %}
<div class="trios">{% for it in wrong %}<figure style="width:auto">
<div class="trio"><img src="{{ it.probe }}" alt="{{ it.path }}"><img src="{{ it.nearest_img }}" alt="{{ it.nearest_path }}"><img src="{{ it.own_img }}" alt="{{ it.own_path }}"></div>
<figcaption>{{ it.path }}{% if it.masked %} (masked){% endif %}<br>taken for <b>{{ it.nearest }}</b> at {{ fmt(it.d_nearest) }}<br>own identity {{ it.identity }}: rank {{ it.rank }}, {{ fmt(it.d_own) }}</figcaption></figure>
{% endfor %}</div>
<h2>Failures (no embedding)</h2>
{% if not failures %}<p class="muted">none</p>{% else %}<table><tr><th>image</th><th>reason</th><th>detail</th></tr>
{% for f in failures %}<tr><td>{{ f.path }}</td><td>{{ f.reason }}</td><td>{{ f.detail }}</td></tr>{% endfor %}</table>{% endif %}
<script>{{ script }}</script>
</body></html>
"""
