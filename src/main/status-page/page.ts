// The status page itself: HTML, CSS and the browser script, served as they are (no build step,
// nothing fetched from elsewhere: the page must work on a machine without internet). The script
// opens /status/ws and redraws on each snapshot (snapshot.ts StatusSnapshot); it writes every
// figure with textContent, never as HTML. Cells carry data-member / data-worker / data-field, so
// that tests and scripts can read the page.

export const pageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>zkts status</title>
<link rel="stylesheet" href="/status/page.css">
</head>
<body data-state="connecting" data-updates="0">
<header>
  <h1>zkts</h1>
  <span id="summary">waiting for the first snapshot</span>
  <span id="conn" class="conn">connecting</span>
</header>
<main>
<section>
  <h2>Members</h2>
  <table id="members">
    <thead><tr><th>id</th><th>address</th><th>role</th><th>mode</th><th>last zxid</th>
      <th title="The zxid this leader has seen the follower ack through Zab">acked (Zab)</th>
      <th>sessions local / global</th><th title="local / global sessions of each session worker">per worker</th>
      <th>ops/s</th><th>avg latency ms</th><th>znodes</th>
      <th>from</th><th>note</th></tr></thead>
    <tbody></tbody>
  </table>
</section>
<section>
  <h2>This member</h2>
  <dl id="totals"></dl>
</section>
<section>
  <h2>Session workers</h2>
  <table id="workers">
    <thead><tr><th>worker</th><th>connections</th><th>sessions local / global</th><th>ops/s</th>
      <th>outstanding</th><th>latency min / avg / max ms</th><th>recent avg ms</th></tr></thead>
    <tbody></tbody>
  </table>
</section>
<section>
  <h2>Leader changes</h2>
  <table id="leaders">
    <thead><tr><th>seen at (UTC)</th><th>epoch</th><th>leader</th><th>this member was</th></tr></thead>
    <tbody></tbody>
  </table>
  <p id="no-leaders" class="muted">none seen (standalone, or no leader yet)</p>
</section>
</main>
<footer>updated <span id="updated">never</span> · <span id="updates">0</span> snapshots</footer>
<script src="/status/page.js"></script>
</body>
</html>
`;

export const pageCss = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f5f6f8; width: max-content; min-width: 100%; }
header { display: flex; gap: 1.2em; align-items: baseline; padding: .6em 1.2em; background: #1d2330; color: #fff; }
h1 { font-size: 1.3em; margin: 0; }
h2 { font-size: 1.05em; margin: 1.2em 0 .4em; }
main { padding: 0 1.2em 1em; }
table { border-collapse: collapse; background: #fff; min-width: 40em; }
th, td { border: 1px solid #d6d9e0; padding: .25em .6em; text-align: left; white-space: nowrap; }
th { background: #eceef2; font-weight: 600; }
td[data-field="note"] { white-space: normal; min-width: 12em; max-width: 20em; font-size: .85em; color: #6b7280; }
tr.self td { background: #fffbea; }
.mode-leader { color: #047857; font-weight: 600; }
.mode-follower { color: #1d4ed8; }
.mode-observer { color: #6b21a8; }
.mode-standalone { color: #047857; font-weight: 600; }
.mode-looking, .mode-unknown { color: #b91c1c; font-weight: 600; }
.conn { margin-left: auto; padding: .1em .6em; border-radius: .8em; background: #b91c1c; }
body[data-state="live"] .conn { background: #047857; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; margin: 0; }
dt { color: #6b7280; }
dd { margin: 0; }
.muted { color: #6b7280; }
footer { padding: .6em 1.2em; color: #6b7280; }
`;

export const pageScript = String.raw`(function () {
  'use strict';
  var retryMs = 1000;
  var updates = 0;
  var dash = '\u2014';

  function text(v) {
    return v === null || v === undefined ? dash : String(v);
  }
  function utc(ms) {
    return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
  }
  function pair(p) {
    return p === null || p === undefined ? dash : p.local + ' / ' + p.global;
  }
  function row(attrs, cls) {
    var tr = document.createElement('tr');
    for (var k in attrs) tr.setAttribute(k, attrs[k]);
    if (cls) tr.className = cls;
    return tr;
  }
  function cell(tr, field, value, cls) {
    var td = document.createElement('td');
    td.setAttribute('data-field', field);
    td.textContent = text(value);
    if (cls) td.className = cls;
    tr.appendChild(td);
  }
  function fill(id, rows) {
    document.querySelector('#' + id + ' tbody').replaceChildren.apply(
      document.querySelector('#' + id + ' tbody'), rows);
  }
  function setState(state, label) {
    document.body.setAttribute('data-state', state);
    document.getElementById('conn').textContent = label;
  }

  function members(s) {
    return s.members.map(function (m) {
      var tr = row({ 'data-member': String(m.id) }, m.self ? 'self' : '');
      cell(tr, 'id', m.id + (m.self ? ' (this)' : ''));
      cell(tr, 'address', m.host + ':' + (m.clientPort === null ? '?' : m.clientPort));
      cell(tr, 'role', m.configuredRole);
      cell(tr, 'mode', m.mode, 'mode-' + m.mode);
      cell(tr, 'zxid', m.zxid);
      cell(tr, 'acked', m.ackedZxid === null ? null : m.ackedZxid + (m.syncPhase === 'active' ? '' : ' (' + m.syncPhase + ')'));
      cell(tr, 'sessions', pair(m.sessions));
      cell(tr, 'workers', m.workerSessions === null || m.workerSessions === undefined ? null :
        m.workerSessions.map(function (w, i) { return i + ': ' + pair(w); }).join(' \u00b7 '));
      cell(tr, 'ops', m.opsPerS);
      cell(tr, 'latency', m.avgLatencyMs);
      cell(tr, 'nodes', m.nodeCount);
      cell(tr, 'source', m.source + (m.ageMs ? ' (' + Math.round(m.ageMs / 100) / 10 + ' s ago)' : ''));
      cell(tr, 'note', m.note);
      return tr;
    });
  }
  function workers(s) {
    return s.workers.map(function (w) {
      var tr = row({ 'data-worker': String(w.index) });
      var l = w.latency;
      cell(tr, 'index', w.index);
      cell(tr, 'connections', w.connections);
      cell(tr, 'sessions', pair(w.sessions));
      cell(tr, 'ops', w.opsPerS);
      cell(tr, 'outstanding', w.outstanding);
      cell(tr, 'latency', l.minMs + ' / ' + l.avgMs + ' / ' + l.maxMs);
      cell(tr, 'recent', l.recentAvgMs);
      return tr;
    });
  }
  function leaders(s) {
    return s.leaderChanges.slice().reverse().map(function (c) {
      var tr = row({ 'data-epoch': String(c.epoch) });
      cell(tr, 'at', utc(c.atMs));
      cell(tr, 'epoch', c.epoch);
      cell(tr, 'leader', c.leaderId);
      cell(tr, 'as', c.as);
      return tr;
    });
  }
  function totals(s) {
    var t = s.totals;
    var items = [
      ['mode', s.mode], ['zxid', s.zxid], ['epoch', s.epoch], ['leader', s.leaderId],
      ['znodes', s.nodeCount], ['connections', t.connections], ['ops/s', t.opsPerS],
      ['latency min / avg / max ms', t.latency.minMs + ' / ' + t.latency.avgMs + ' / ' + t.latency.maxMs],
      ['recent avg latency ms', t.latency.recentAvgMs],
      ['workers', s.workersStale ? 'did not answer in time (last figures shown)' : s.workers.length]
    ];
    var out = [];
    items.forEach(function (it) {
      var dt = document.createElement('dt');
      dt.textContent = it[0];
      var dd = document.createElement('dd');
      dd.setAttribute('data-field', it[0]);
      dd.textContent = text(it[1]);
      out.push(dt, dd);
    });
    document.getElementById('totals').replaceChildren.apply(document.getElementById('totals'), out);
  }

  function render(s) {
    if (!s || s.kind !== 'zkts-status') return;
    document.getElementById('summary').textContent =
      'member ' + s.selfId + ' \u00b7 ' + s.mode + ' \u00b7 zxid ' + s.zxid +
      (s.epoch === null ? '' : ' \u00b7 epoch ' + s.epoch + ' \u00b7 leader ' + text(s.leaderId));
    fill('members', members(s));
    fill('workers', workers(s));
    fill('leaders', leaders(s));
    document.getElementById('no-leaders').hidden = s.leaderChanges.length > 0;
    document.getElementById('leaders').hidden = s.leaderChanges.length === 0;
    totals(s);
    updates += 1;
    document.body.setAttribute('data-updates', String(updates));
    document.getElementById('updates').textContent = String(updates);
    document.getElementById('updated').textContent = utc(s.atMs) + ' UTC';
  }

  function connect() {
    var proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    var ws = new WebSocket(proto + '//' + location.host + '/status/ws');
    setState('connecting', 'connecting');
    ws.onopen = function () {
      retryMs = 1000;
      setState('live', 'live');
    };
    ws.onmessage = function (e) {
      var s;
      try {
        s = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      render(s);
    };
    ws.onclose = function () {
      setState('reconnecting', 'reconnecting');
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 10000);
    };
  }
  connect();
})();
`;
