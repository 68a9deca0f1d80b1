/**
 * The page script (plain browser JavaScript, kept as a string so pages can inline it with a CSP
 * nonce): draws every `[data-chart]` element with uPlot from the JSON block inside it, and on live
 * pages polls `body[data-poll]` about once a second, replacing each `[data-live=<key>]` element's
 * content with the server's fresh fragment (rendered by the same view functions) when it changed.
 */
export const CLIENT_SCRIPT = String.raw`(function () {
  'use strict';
  var COLORS = ['#2456c7', '#d9480f', '#2b8a3e', '#862e9c', '#e67700', '#0b7285'];
  function specOf(el) {
    var s = el.querySelector('script[type="application/json"]');
    try { return s ? JSON.parse(s.textContent) : null; } catch (e) { return null; }
  }
  function table(series) {
    var pts = [];
    for (var i = 0; i < series.x.length; i++) if (isFinite(series.x[i]) && series.y[i] !== null && isFinite(series.y[i])) pts.push([series.x[i], series.y[i]]);
    // Stable by x (a curve's own order breaks ties), then repeated x values (a ROC's vertical
    // steps) nudged apart so uPlot.join, which keys on x, keeps every point.
    pts.sort(function (a, b) { return a[0] - b[0]; });
    for (var k = 1; k < pts.length; k++) if (pts[k][0] <= pts[k - 1][0]) pts[k][0] = pts[k - 1][0] + 1e-9;
    return [pts.map(function (p) { return p[0]; }), pts.map(function (p) { return p[1]; })];
  }
  function draw(el) {
    var spec = specOf(el);
    var target = el.querySelector('.plot');
    if (!spec || !target || typeof uPlot === 'undefined') return;
    target.textContent = '';
    var tables = spec.series.map(table).filter(function (t) { return t[0].length > 0; });
    if (tables.length === 0) { target.textContent = 'no points'; return; }
    var data = tables.length === 1 ? tables[0] : uPlot.join(tables);
    var series = [{ label: spec.x }];
    spec.series.forEach(function (s, i) {
      if (table(s)[0].length === 0) return;
      series.push({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true, points: { show: !!s.points } });
    });
    var opts = {
      width: Math.max(240, target.clientWidth || 600), height: spec.height || 240,
      scales: { x: { time: !!spec.time } },
      axes: [{ label: spec.x }, { label: spec.y }],
      series: series,
    };
    new uPlot(opts, data, target);
  }
  function drawAll(root) { Array.prototype.forEach.call(root.querySelectorAll('[data-chart]'), draw); }
  var last = {};
  // A part holding a form someone is filling in is left alone until they are done with it.
  function busy(el) {
    var a = document.activeElement;
    if (a && a !== document.body && el.contains(a)) return true;
    return Array.prototype.some.call(el.querySelectorAll('input[type="text"]'), function (i) { return i.value !== ''; });
  }
  // About once a second; a slower answer (a page of 500 runs) spaces the polls out to five times
  // its own duration, and a hidden tab asks nothing until it is shown again.
  function poll(url) {
    var started = Date.now();
    var again = function () {
      var wait = Math.max(1000, 5 * (Date.now() - started));
      setTimeout(function () {
        if (!document.hidden) return poll(url);
        document.addEventListener('visibilitychange', function shown() {
          if (document.hidden) return;
          document.removeEventListener('visibilitychange', shown);
          poll(url);
        });
      }, wait);
    };
    fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
      .then(function (j) {
        Object.keys(j.fragments || {}).forEach(function (k) {
          var el = document.querySelector('[data-live="' + k + '"]');
          if (!el || last[k] === j.fragments[k] || busy(el)) return;
          last[k] = j.fragments[k];
          el.innerHTML = j.fragments[k];
          drawAll(el);
        });
        var stamp = document.querySelector('[data-testid="live-status"]');
        if (stamp) stamp.textContent = j.done ? 'final' : 'live, updated ' + new Date().toLocaleTimeString();
        if (!j.done) again();
      })
      .catch(function () { again(); });
  }
  function start() {
    drawAll(document);
    var resizing;
    window.addEventListener('resize', function () { clearTimeout(resizing); resizing = setTimeout(function () { drawAll(document); }, 200); });
    var url = document.body.getAttribute('data-poll');
    if (url) setTimeout(function () { poll(url); }, 1000);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start); else start();
})();`;
