"""Jinja2 templates of the audit report's hygiene pages (rendered by :mod:`.hygiene`)."""

from __future__ import annotations

HYGIENE_INDEX = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>maskforge hygiene audit</title>
<style>{{ style }}</style></head>
<body>
<h1>Identity hygiene{% if title %}: {{ title }}{% endif %}</h1>
<div class="nav"><a href="../index.html">run report</a></div>
<table>
<tr><th>action</th><td>{{ s.action }}</td></tr>
<tr><th>duplicate sets</th><td class="n">{{ s.duplicate_sets }} ({{ s.duplicate_sets_across_identities }} across identities)</td></tr>
<tr><th>identity pairs that look like one person</th><td class="n">{{ s.same_person_pairs }}</td></tr>
<tr><th>identities overlapping an evaluation set</th><td class="n">{{ s.eval_overlaps }} (+ {{ s.eval_name_only }} name-only matches)</td></tr>
<tr><th>images removed</th><td class="n">{{ s.removed }}</td></tr>
<tr><th>images relabelled (merge)</th><td class="n">{{ s.relabelled }}</td></tr>
</table>
{% for kind, label, n in sections %}<h2>{{ label }}</h2>
<div class="nav">{% for p in range(1, n + 1) %}<a href="{{ kind }}-{{ '%04d' % p }}.html">page {{ p }}</a>{% endfor %}
{% if not n %}<span class="muted">none found</span>{% endif %}</div>{% endfor %}
<p class="muted">Each page's "keep" buttons copy keep.csv lines (an image path, or an identity name
to keep a whole identity); pass the file as <code>hygiene.keep</code> on the next run to overrule
the decision.</p>
<script>{{ script }}</script>
</body></html>
"""

_NAV = """<div class="nav"><a href="index.html">hygiene summary</a>
{% if page > 1 %}<a href="{{ kind }}-{{ '%04d' % (page - 1) }}.html">&larr; previous</a>{% endif %}
{% if page < n_pages %}<a href="{{ kind }}-{{ '%04d' % (page + 1) }}.html">next &rarr;</a>{% endif %}
<span class="muted">{{ label }}: page {{ page }} of {{ n_pages }}</span>
<button onclick="copyAll()">copy keep.csv lines of this page</button></div>"""

_FIG = """{% macro fig(path, caption, cls='', keep=None) %}<figure class="{{ cls }}">
<img src="thumbnails/{{ thumbs.get(path, missing) }}" alt="{{ path }}">
<figcaption>{{ path }}<br>{{ caption }}{% if notes.get(path) %}<br><span class="muted">not shown: {{ notes[path] }}</span>{% endif %}
{% if keep %}<br><button data-line="{{ csv(keep) }}" onclick="copyLine(this)">keep</button>{% endif %}</figcaption></figure>{% endmacro %}"""

DUPLICATES = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>duplicates {{ page }}</title><style>{{ style }}</style></head>
<body>""" + _NAV + _FIG + """
<p class="muted">Each row is one image stored more than once, side by side: green = the copy that
stays (the one closest to its identity's centre), red = removed (or reported).</p>
{% for d in items %}<div class="ident"><h2>{{ 'across identities' if d.across else 'within ' + d.members[0].identity }}
<span class="muted">{{ d.members|length }} copies</span></h2><div class="cards">
{% for m in d.members %}{{ fig(m.source_path, m.identity + ' · ' + m.how + (' · cosine %.4f' % m.cosine) + ((' · pHash %d bits' % m.bits) if m.bits >= 0 else '') + ' · ' + m.action, 'typ' if m.action == 'keep' else 'flag', None if m.action == 'keep' else m.source_path) }}{% endfor %}
</div></div>{% endfor %}
<script>{{ script }}</script></body></html>
"""

IDENTITIES = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>identity pairs {{ page }}</title><style>{{ style }}</style></head>
<body>""" + _NAV + _FIG + """
<p class="muted">Two identities whose centres are as close as one person's: their closest image
pairs side by side. "keep" on the second identity keeps it apart on the next run.</p>
{% for p in items %}<div class="ident"><h2>{{ p.a }} ~ {{ p.b }} <span class="muted">centre cosine {{ '%.4f' % p.cosine }}</span>
<button data-line="{{ csv(p.b) }}" onclick="copyLine(this)">keep {{ p.b }} apart</button></h2>
{% for e in p.evidence %}<div class="row strip">{{ fig(e.path_a, p.a) }}{{ fig(e.path_b, p.b + (' · cosine %.4f' % e.cosine)) }}</div>{% endfor %}
</div>{% endfor %}
<script>{{ script }}</script></body></html>
"""

OVERLAPS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>evaluation overlap {{ page }}</title><style>{{ style }}</style></head>
<body>""" + _NAV + _FIG + """
<p class="muted">Training identities that are also in an evaluation set (signals: a shared photo,
the face, the name), each with its closest training and evaluation images.</p>
{% for o in items %}<div class="ident"><h2>{{ o.identity }} ~ {{ o.eval_set }}: {{ o.eval_identity }}
<span class="muted">{{ o.signals|join('+') }}, centre cosine {{ '%.4f' % o.centre_cosine }}, {{ o.reason }}</span>
<button data-line="{{ csv(o.identity) }}" onclick="copyLine(this)">keep {{ o.identity }}</button></h2>
{% for e in o.evidence %}<div class="row strip">{{ fig(e.path, o.identity) }}{{ fig(e.eval_path, o.eval_identity + (' · cosine %.4f' % e.cosine)) }}</div>{% endfor %}
</div>{% endfor %}
<script>{{ script }}</script></body></html>
"""
