// threatcov serve: progressive enhancement only. Every fact is already in the HTML (drawing,
// tables, node sections); this script adds the side panel, in-page search, pan and zoom, the
// one-path-at-a-time view and live updates. It never builds HTML from strings: it clones the
// server's escaped node sections and sets textContent.
(function () {
  'use strict';

  document.documentElement.classList.add('js');

  var state = { selected: null, path: null, view: null, drag: null, moved: false };

  function byId(id) { return document.getElementById(id); }
  function all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function svg() { var c = byId('tc_canvas'); return c ? c.querySelector('svg') : null; }
  function detail(id) { return id ? byId('d_' + id) : null; }
  function quoteAttr(s) { return '"' + String(s).replace(/["\\]/g, '\\$&') + '"'; }

  // svgNode is the drawing's element for a node id (the drawing uses node ids as element ids).
  function svgNode(id) {
    var s = svg();
    return s ? s.querySelector('[id=' + quoteAttr(id) + ']') : null;
  }

  // nodeAt walks up from a clicked element to the nearest element that is a node of this page.
  function nodeAt(el) {
    var s = svg();
    for (; el && el !== s; el = el.parentNode) {
      if (el.id && detail(el.id)) { return el.id; }
    }
    return null;
  }

  function mark(cls, ids) {
    var s = svg();
    if (!s) { return; }
    all('.' + cls, s).forEach(function (el) { el.classList.remove(cls); });
    ids.forEach(function (id) { var el = svgNode(id); if (el) { el.classList.add(cls); } });
  }

  // ---- side panel ---------------------------------------------------------------------------

  function select(id, center) {
    var d = detail(id), panel = byId('tc_panel');
    if (!d || !panel) { return false; }
    state.selected = id;
    panel.textContent = '';
    var close = document.createElement('button');
    close.type = 'button';
    close.className = 'close';
    close.title = 'Close';
    close.setAttribute('aria-label', 'Close the node panel');
    close.textContent = '×';
    close.addEventListener('click', deselect);
    var copy = d.cloneNode(true);
    copy.removeAttribute('id');
    copy.classList.add('in-panel');
    panel.appendChild(close);
    panel.appendChild(copy);
    panel.hidden = false;
    panel.scrollTop = 0;
    placePanel();
    document.body.classList.add('panel-open');
    mark('tc-selected', [id]);
    if (center) { centerOn(id); }
    history.replaceState(null, '', '#d_' + id);
    return true;
  }

  // placePanel keeps the panel, which is fixed to the window's right edge (so it opens where the
  // reader is looking, whatever the scroll), below the sticky header, whose height varies.
  function placePanel() {
    var panel = byId('tc_panel'), top = document.querySelector('header.top');
    if (panel && top && window.matchMedia('(min-width: 901px)').matches) {
      panel.style.top = Math.ceil(top.getBoundingClientRect().bottom + 8) + 'px';
    } else if (panel) {
      panel.style.top = '';
    }
  }

  // revealDrawing scrolls the drawing into view, under the header.
  function revealDrawing() {
    var c = byId('tc_canvas'), d = c ? c.closest('.drawing') : null;
    if (d) { d.scrollIntoView({ block: 'start' }); }
  }

  function deselect() {
    var panel = byId('tc_panel');
    state.selected = null;
    document.body.classList.remove('panel-open');
    if (panel) { panel.hidden = true; panel.textContent = ''; }
    mark('tc-selected', []);
  }

  // ---- one open path at a time -------------------------------------------------------------

  function pathItems() { return all('li.path'); }

  function showPath(i) {
    var items = pathItems(), c = byId('tc_canvas');
    if (!items.length || !c) { return; }
    i = (i + items.length) % items.length;
    var li = items[i], ids = (li.getAttribute('data-nodes') || '').split(' ').filter(Boolean);
    state.path = li.id;
    c.classList.add('pathmode');
    mark('tc-lit', ids);
    markEdges(ids);
    items.forEach(function (it) { it.classList.toggle('current', it === li); });
    var goal = li.closest('section.goal'), heading = goal ? goal.querySelector('h3') : null;
    var steps = all('a.step', li).map(function (a) { return a.textContent; }).join(' + ');
    byId('tc_path_label').textContent = 'Path ' + (i + 1) + ' of ' + items.length +
      (heading ? ' · ' + heading.firstChild.textContent.trim() : '') + ': ' + steps;
    byId('tc_pathbar').hidden = false;
    frame(ids);
    history.replaceState(null, '', '#' + li.id);
  }

  // frame zooms the drawing to the nodes given, with a margin, never closer than half the
  // whole tree (so the path keeps its context) nor wider than the whole tree.
  function frame(ids) {
    var c = byId('tc_canvas'), f = state.full;
    if (!c || !f || !state.view) { return; }
    var box = null;
    ids.forEach(function (id) {
      var el = svgNode(id);
      if (!el) { return; }
      var r = el.getBoundingClientRect(), a = toSVG(r.left, r.top), b = toSVG(r.right, r.bottom);
      box = box ? { x1: Math.min(box.x1, a.x), y1: Math.min(box.y1, a.y), x2: Math.max(box.x2, b.x), y2: Math.max(box.y2, b.y) }
        : { x1: a.x, y1: a.y, x2: b.x, y2: b.y };
    });
    if (!box) { return; }
    var cr = c.getBoundingClientRect(), aspect = cr.height / cr.width;
    var w = Math.max(box.x2 - box.x1, (box.y2 - box.y1) / aspect) * 1.15;
    w = Math.min(Math.max(w, f.w / 2), f.w);
    var h = w * aspect, x = (box.x1 + box.x2) / 2 - w / 2, y = (box.y1 + box.y2) / 2 - h / 2;
    // Keep the frame on the drawing where it fits, rather than showing empty margin.
    if (w <= f.w) { x = Math.min(Math.max(x, f.x), f.x + f.w - w); }
    if (h <= f.h) { y = Math.min(Math.max(y, f.y), f.y + f.h - h); }
    applyView({ x: x, y: y, w: w, h: h });
  }

  // markEdges lights the drawn edges between two lit nodes. Graphviz titles an edge "a->b".
  function markEdges(ids) {
    var s = svg(), lit = {};
    if (!s) { return; }
    ids.forEach(function (id) { lit[id] = true; });
    all('g.edge', s).forEach(function (g) {
      var t = g.querySelector('title'), ends = t ? t.textContent.split('->') : [];
      g.classList.toggle('tc-lit', ends.length === 2 && !!lit[ends[0].trim()] && !!lit[ends[1].trim()]);
    });
  }

  function clearPath() {
    var c = byId('tc_canvas'), bar = byId('tc_pathbar');
    state.path = null;
    if (c) { c.classList.remove('pathmode'); }
    mark('tc-lit', []);
    all('g.edge.tc-lit').forEach(function (g) { g.classList.remove('tc-lit'); });
    pathItems().forEach(function (it) { it.classList.remove('current'); });
    if (bar) { bar.hidden = true; }
  }

  function pathIndex(anchor) {
    var items = pathItems();
    for (var i = 0; i < items.length; i++) { if (items[i].id === anchor) { return i; } }
    return -1;
  }

  // ---- pan and zoom through the viewBox ------------------------------------------------------

  function initZoom() {
    var s = svg(), c = byId('tc_canvas');
    if (!s || !c) { return; }
    var vb = s.viewBox && s.viewBox.baseVal;
    if (!vb || !vb.width) {
      var bb = s.getBBox();
      s.setAttribute('viewBox', [bb.x, bb.y, bb.width, bb.height].join(' '));
      vb = s.viewBox.baseVal;
    }
    state.full = { x: vb.x, y: vb.y, w: vb.width, h: vb.height };
    s.removeAttribute('width');
    s.removeAttribute('height');
    s.setAttribute('preserveAspectRatio', 'xMidYMid meet');
    applyView(state.view || state.full);

    c.addEventListener('wheel', function (e) {
      e.preventDefault();
      zoomAt(e.clientX, e.clientY, e.deltaY < 0 ? 0.8 : 1.25);
    }, { passive: false });
    c.addEventListener('pointerdown', function (e) {
      if (e.button !== 0) { return; }
      state.drag = { x: e.clientX, y: e.clientY, view: state.view };
      state.moved = false;
    });
    c.addEventListener('pointermove', function (e) {
      var d = state.drag;
      if (!d) { return; }
      var dx = e.clientX - d.x, dy = e.clientY - d.y;
      if (!state.moved && Math.abs(dx) + Math.abs(dy) < 4) { return; }
      if (!state.moved) { state.moved = true; c.classList.add('dragging'); c.setPointerCapture(e.pointerId); }
      var k = scale();
      applyView({ x: d.view.x - dx * k, y: d.view.y - dy * k, w: d.view.w, h: d.view.h });
    });
    function end() { state.drag = null; c.classList.remove('dragging'); }
    c.addEventListener('pointerup', end);
    c.addEventListener('pointercancel', end);
    c.addEventListener('click', function (e) {
      if (state.moved) { state.moved = false; e.preventDefault(); return; }
      var id = nodeAt(e.target);
      if (id) { e.preventDefault(); select(id, false); }
    });
  }

  // scale is viewBox units per screen pixel ("meet" fits the larger ratio).
  function scale() {
    var c = byId('tc_canvas'), r = c.getBoundingClientRect(), v = state.view;
    return Math.max(v.w / r.width, v.h / r.height);
  }

  function applyView(v) {
    var s = svg();
    state.view = { x: v.x, y: v.y, w: v.w, h: v.h };
    if (s) { s.setAttribute('viewBox', [v.x, v.y, v.w, v.h].join(' ')); }
  }

  function toSVG(clientX, clientY) {
    var s = svg(), pt = s.createSVGPoint();
    pt.x = clientX;
    pt.y = clientY;
    return pt.matrixTransform(s.getScreenCTM().inverse());
  }

  function zoomAt(clientX, clientY, factor) {
    var v = state.view, f = state.full, p = toSVG(clientX, clientY);
    var w = Math.min(Math.max(v.w * factor, f.w / 40), f.w * 4);
    factor = w / v.w;
    applyView({ x: p.x - (p.x - v.x) * factor, y: p.y - (p.y - v.y) * factor, w: w, h: v.h * factor });
  }

  function zoomButton(kind) {
    var c = byId('tc_canvas');
    if (!c || !state.view) { return; }
    if (kind === 'fit') { applyView(state.full); return; }
    var r = c.getBoundingClientRect();
    zoomAt(r.left + r.width / 2, r.top + r.height / 2, kind === 'in' ? 0.8 : 1.25);
  }

  // focusOn zooms to the drawing's natural size (one unit a pixel, so labels read as they were
  // laid out), or the whole tree when that is smaller, and centres the node.
  function focusOn(id) {
    var c = byId('tc_canvas'), f = state.full;
    if (!c || !f || !state.view) { return; }
    var r = c.getBoundingClientRect(), w = Math.min(f.w, r.width);
    applyView({ x: state.view.x, y: state.view.y, w: w, h: w * r.height / r.width });
    centerOn(id);
  }

  function centerOn(id) {
    var el = svgNode(id);
    if (!el || !state.view) { return; }
    var r = el.getBoundingClientRect(), p = toSVG(r.left + r.width / 2, r.top + r.height / 2), v = state.view;
    applyView({ x: p.x - v.w / 2, y: p.y - v.h / 2, w: v.w, h: v.h });
  }

  // ---- search over node labels and refs ----------------------------------------------------

  var searchTimer = null;

  function runSearch() {
    var q = byId('tc_q'), box = byId('tc_results');
    if (!q || !box) { return; }
    var term = q.value.trim().toLowerCase();
    box.textContent = '';
    if (!term) { box.hidden = true; mark('tc-match', []); return; }
    // A node matches by label, ref or id, or by a policy it names (blocking, monitoring or
    // mapped), e.g. "K8sPSPHostNamespace" finds the steps that policy blocks or should block.
    function policyHit(d) {
      return (d.getAttribute('data-policies') || '').split(' ').filter(function (p) {
        return p && p.toLowerCase().indexOf(term) >= 0;
      })[0] || '';
    }
    var hits = all('section.node[data-node]').filter(function (d) {
      return (d.getAttribute('data-label') || '').toLowerCase().indexOf(term) >= 0 ||
        (d.getAttribute('data-ref') || '').toLowerCase().indexOf(term) >= 0 ||
        d.getAttribute('data-node').indexOf(term) >= 0 || policyHit(d) !== '';
    });
    mark('tc-match', hits.map(function (d) { return d.getAttribute('data-node'); }));
    hits.slice(0, 30).forEach(function (d) {
      var a = document.createElement('a'), id = d.getAttribute('data-node'), ref = d.getAttribute('data-ref');
      var label = d.getAttribute('data-label') || '', policy = policyHit(d);
      a.href = '#d_' + id;
      a.className = 'hit';
      a.setAttribute('data-node', id);
      a.textContent = label + (ref ? ' [' + ref + ']' : '') +
        (policy && label.toLowerCase().indexOf(term) < 0 ? ' · policy ' + policy : '');
      box.appendChild(a);
    });
    if (!hits.length) {
      var none = document.createElement('div');
      none.className = 'none';
      none.textContent = 'No node of this tree matches.';
      box.appendChild(none);
    }
    var more = document.createElement('div'), link = document.createElement('a');
    more.className = 'all';
    link.href = '/search?q=' + encodeURIComponent(q.value.trim());
    link.textContent = 'Search every tree for “' + q.value.trim() + '”';
    more.appendChild(link);
    box.appendChild(more);
    box.hidden = false;
  }

  function initSearch() {
    var q = byId('tc_q');
    if (!q || document.body.getAttribute('data-page') !== 'tree') { return; }
    q.addEventListener('input', function () {
      clearTimeout(searchTimer);
      searchTimer = setTimeout(runSearch, 120);
    });
    q.addEventListener('focus', function () { if (q.value.trim()) { runSearch(); } });
  }

  // ---- clicks, keys and the address bar ----------------------------------------------------

  function samePage(a) {
    return a.pathname === location.pathname && a.search === location.search;
  }

  document.addEventListener('click', function (e) {
    var a = e.target.closest ? e.target.closest('a') : null;
    if (!a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) { return; }
    var node = a.getAttribute('data-node');
    if (node && samePage(a) && detail(node)) {
      e.preventDefault();
      var box = byId('tc_results');
      if (box) { box.hidden = true; }
      select(node, true);
      return;
    }
    var anchor = a.getAttribute('data-path') || (a.classList.contains('path-link') ? a.hash.slice(1) : '');
    if (anchor && samePage(a) && pathIndex(anchor) >= 0) {
      e.preventDefault();
      showPath(pathIndex(anchor));
      byId('tc_canvas').closest('.drawing').scrollIntoView({ block: 'start' });
    }
  });

  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Escape') { return; }
    var box = byId('tc_results');
    if (box && !box.hidden) { box.hidden = true; return; }
    if (state.path) { clearPath(); return; }
    deselect();
  });

  function initControls() {
    all('[data-zoom]').forEach(function (b) {
      b.addEventListener('click', function () { zoomButton(b.getAttribute('data-zoom')); });
    });
    var prev = byId('tc_path_prev'), next = byId('tc_path_next'), clear = byId('tc_path_clear');
    if (prev) { prev.addEventListener('click', function () { showPath(Math.max(pathIndex(state.path), 0) - 1); }); }
    if (next) { next.addEventListener('click', function () { showPath(pathIndex(state.path) + 1); }); }
    if (clear) { clear.addEventListener('click', clearPath); }
  }

  // restore shows what the address names. A node link (#d_<id>) opens the node's panel, shows
  // the drawing (not the node's section far below, where the browser would scroll) and centres
  // the node in it.
  function restore(hash) {
    if (hash.indexOf('#d_') === 0 && select(hash.slice(3), false)) {
      revealDrawing();
      focusOn(hash.slice(3));
    }
    if (hash.indexOf('#p_') === 0 && pathIndex(hash.slice(1)) >= 0) { showPath(pathIndex(hash.slice(1))); }
  }

  function initPage() {
    initZoom();
    initControls();
    var path = state.path, selected = state.selected;
    if (path && pathIndex(path) >= 0) { showPath(pathIndex(path)); }
    if (selected && detail(selected)) { select(selected, false); } else if (selected) { deselect(); }
    var q = byId('tc_q');
    if (q && q.value.trim() && document.body.getAttribute('data-page') === 'tree' && document.activeElement === q) { runSearch(); }
  }

  // ---- live updates ------------------------------------------------------------------------

  function refresh() {
    var live = byId('tc_live');
    fetch(location.pathname + location.search, { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) {
        if (!r.ok) { throw new Error(r.status + ' ' + r.statusText); }
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, 'text/html');
        var fresh = doc.getElementById('tc_live_root'), old = byId('tc_live_root');
        if (!fresh || !old) { return; }
        old.replaceWith(document.importNode(fresh, true));
        document.body.setAttribute('data-version', doc.body.getAttribute('data-version'));
        document.title = doc.title;
        initPage();
        runSearch();
        if (live) { live.textContent = 'Re-analysed · updated ' + new Date().toLocaleTimeString(); }
      })
      .catch(function (err) {
        if (live) { live.textContent = 'A new analysis is ready but this page could not load it (' + err.message + '): reload.'; }
      });
  }

  // initLive listens for new analyses while the tab is visible. A hidden tab closes its stream:
  // browsers allow about six connections per host, and a stream per background tab would soon
  // stall every page load. On return the new stream's first event says whether to refresh.
  function initLive() {
    if (!window.EventSource) { return; }
    var es = null;
    function open() {
      if (es) { return; }
      es = new EventSource('/events');
      es.addEventListener('version', function (e) {
        if (e.data !== document.body.getAttribute('data-version')) { refresh(); }
      });
    }
    function close() { if (es) { es.close(); es = null; } }
    document.addEventListener('visibilitychange', function () {
      if (document.hidden) { close(); } else { open(); }
    });
    if (!document.hidden) { open(); }
  }

  // initPolicyFilter filters the policy view's rows as the reader types (the form filters on
  // the server without JavaScript).
  function initPolicyFilter() {
    var q = byId('tc_pq'), count = byId('tc_pcount');
    if (!q) { return; }
    var rows = all('tr.policy');
    q.addEventListener('input', function () {
      var term = q.value.trim().toLowerCase(), shown = 0;
      rows.forEach(function (r) {
        var hit = !term || (r.getAttribute('data-text') || '').indexOf(term) >= 0;
        r.hidden = !hit;
        if (hit) { shown++; }
      });
      if (count) { count.textContent = shown + ' of ' + rows.length + ' policies shown'; }
    });
  }

  function start() {
    initSearch();
    initPolicyFilter();
    initPage();
    restore(location.hash);
    initLive();
    // The browser scrolls to the fragment's element once the page has loaded; show the drawing
    // again after that, unless the reader moved on.
    var hash = location.hash;
    window.addEventListener('load', function () {
      if (hash.indexOf('#d_') === 0 && location.hash === hash && state.selected) { revealDrawing(); focusOn(state.selected); }
    });
    window.addEventListener('resize', placePanel);
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', start);
  } else {
    start();
  }
}());
