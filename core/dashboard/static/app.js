// Boskos dashboard: reads only the read API (/v1/...) of the server that
// serves it, renders with textContent (names, owners and reasons are
// clients' strings: never HTML), and refreshes itself every 5 s.
'use strict';

(function () {
  const REFRESH_MS = 5000;
  const MAX_ROWS = 5000; // resources fetched for the table (5 pages of 1000)
  const KNOWN_STATES = ['free', 'busy', 'leased', 'dirty', 'cleaning', 'toBeDeleted', 'tombstone', 'quarantined'];
  const $ = (id) => document.getElementById(id);

  class HTTPError extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  // getJSON fetches path with the non-empty params; a non-2xx answer is an
  // HTTPError with the API's error message.
  async function getJSON(path, params) {
    const u = new URL(path, window.location.origin);
    for (const [k, v] of Object.entries(params || {})) {
      if (v !== '' && v !== undefined && v !== null) u.searchParams.set(k, String(v));
    }
    const resp = await fetch(u, { headers: { Accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin' });
    if (!resp.ok) {
      let msg = resp.status + ' ' + resp.statusText;
      try {
        const body = await resp.json();
        if (body && body.error) msg = body.error;
      } catch (e) { /* not JSON */ }
      throw new HTTPError(resp.status, msg);
    }
    return resp.json();
  }

  // getAll follows the cursors of a list up to max items.
  async function getAll(path, params, max) {
    let items = [];
    let cursor = '';
    do {
      const page = await getJSON(path, Object.assign({}, params, { limit: 1000, cursor: cursor }));
      items = items.concat(page.items || []);
      cursor = page.cursor || '';
    } while (cursor && items.length < max);
    return { items: items.slice(0, max), truncated: cursor !== '' || items.length > max };
  }

  // el builds an element; children are nodes or text.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  function duration(sec) {
    if (sec === undefined || sec === null) return '—';
    sec = Math.max(0, Math.floor(sec));
    const d = Math.floor(sec / 86400), h = Math.floor(sec / 3600) % 24, m = Math.floor(sec / 60) % 60, s = sec % 60;
    const pad = (n) => String(n).padStart(2, '0');
    if (d > 0) return d + 'd ' + h + 'h';
    if (h > 0) return h + 'h ' + pad(m) + 'm';
    if (m > 0) return m + 'm ' + pad(s) + 's';
    return s + 's';
  }

  function stateRank(s) {
    const i = KNOWN_STATES.indexOf(s);
    return i < 0 ? KNOWN_STATES.length : i;
  }

  function byState(a, b) {
    return stateRank(a) - stateRank(b) || (a < b ? -1 : a > b ? 1 : 0);
  }

  function setRows(table, rows) {
    const tbody = table.tBodies[0];
    tbody.replaceChildren(...rows);
  }

  function showEmpty(id, show, text) {
    const p = $(id);
    if (text !== undefined) p.textContent = text;
    p.hidden = !show;
  }

  // ---- panels ----

  function renderPools(types) {
    const box = $('pools');
    showEmpty('pools-empty', types.length === 0);
    const cards = types.map((t) => {
      const states = Object.keys(t.states).sort(byState);
      const max = Math.max(1, ...states.map((s) => t.states[s]));
      const bars = el('ul', { class: 'bars', 'aria-label': 'resources of ' + t.type + ' by state' },
        ...states.map((s) => {
          const n = t.states[s];
          const bar = el('div', { class: 'bar s-' + s });
          bar.style.width = (100 * n / max).toFixed(1) + '%';
          return el('li', { 'data-state': s },
            el('span', { class: 'state', title: s, text: s }),
            el('div', { class: 'track', 'aria-hidden': 'true' }, bar),
            el('span', { class: 'n', text: String(n) }));
        }));
      return el('article', { class: 'pool', 'data-type': t.type },
        el('h3', {}, el('span', { class: 'name', text: t.type }), el('span', { class: 'total', text: t.total + ' total' })),
        bars);
    });
    box.replaceChildren(...cards);
  }

  function fillSelect(select, values) {
    const cur = select.value;
    const opts = [el('option', { value: '', text: 'any' })];
    for (const v of values) opts.push(el('option', { value: v, text: v }));
    if (cur !== '' && !values.includes(cur)) opts.push(el('option', { value: cur, text: cur }));
    select.replaceChildren(...opts);
    select.value = cur;
  }

  function renderFilters(types) {
    fillSelect($('f-type'), types.map((t) => t.type));
    const states = new Set(KNOWN_STATES);
    for (const t of types) for (const s of Object.keys(t.states)) states.add(s);
    fillSelect($('f-state'), [...states].sort(byState));
  }

  function filters() {
    return {
      type: $('f-type').value,
      state: $('f-state').value,
      owner: $('f-owner').value.trim(),
      name: $('f-name').value.trim(),
    };
  }

  function renderResources(res, f) {
    const needle = f.name.toLowerCase();
    const items = needle ? res.items.filter((r) => r.name.toLowerCase().includes(needle)) : res.items;
    const rows = items.map((r) => el('tr', { 'data-name': r.name },
      el('td', { text: r.name }),
      el('td', { text: r.type }),
      el('td', { text: r.state }),
      el('td', { text: r.owner || '—' }),
      el('td', { text: r.owner ? duration(r.held_seconds) : '—', title: r.acquired_at || null }),
      el('td', { text: String(r.epoch) }),
      el('td', { text: duration(r.idle_seconds) + ' ago', title: r.last_update }),
    ));
    setRows($('resources'), rows);
    $('res-count').textContent = '(' + items.length + ')';
    const note = $('res-note');
    note.hidden = !res.truncated && items.length > 0;
    note.textContent = res.truncated ? 'Showing the first ' + MAX_ROWS + ' matches: narrow the filters.' : 'No resources match the filters.';
  }

  function renderQueue(q) {
    setRows($('queue'), q.items.map((e) => el('tr', { 'data-request-id': e.request_id },
      el('td', { text: e.type }),
      el('td', { text: e.state }),
      el('td', { text: String(e.rank) + (e.blocked ? ' (over quota)' : '') }),
      el('td', { text: e.request_id }),
      el('td', { text: duration(e.age_seconds), title: e.created }),
    )));
    $('queue-count').textContent = '(' + q.items.length + ')';
    showEmpty('queue-empty', q.items.length === 0);
  }

  function renderQuarantined(q) {
    setRows($('quarantined'), q.items.map((r) => el('tr', { 'data-name': r.name },
      el('td', { text: r.name }),
      el('td', { text: r.type }),
      el('td', { class: 'wrap', text: r.quarantine_reason || '(no reason recorded)' }),
      el('td', { text: duration(r.idle_seconds) + ' ago', title: r.last_update }),
    )));
    $('quar-count').textContent = '(' + q.items.length + ')';
    showEmpty('quar-empty', q.items.length === 0);
  }

  // optional runs an endpoint that this server may not have (history and
  // usage come with lease history): 404 means "not available".
  async function optional(table, emptyId, load, render, what) {
    try {
      const items = await load();
      render(items);
      showEmpty(emptyId, items.length === 0, 'No ' + what + ' in this period.');
      table.hidden = false;
    } catch (err) {
      setRows(table, []);
      table.hidden = true;
      if (err instanceof HTTPError && err.status === 404) {
        showEmpty(emptyId, true, 'History not available: this server does not record lease history.');
        table.parentElement.parentElement.dataset.available = 'false';
        return;
      }
      showEmpty(emptyId, true, 'Could not load the ' + what + ': ' + err.message);
    }
  }

  function renderHistory(items) {
    setRows($('history'), items.map((h) => el('tr', {},
      el('td', { text: new Date(h.time).toLocaleString(), title: h.time }),
      el('td', { text: h.name }),
      el('td', { text: h.type }),
      el('td', { text: h.event }),
      el('td', { text: h.owner || h.prev_owner || '—' }),
    )));
  }

  function renderUsage(items) {
    const total = {};
    for (const u of items) total[u.owner] = (total[u.owner] || 0) + u.resource_hours;
    const sorted = items.slice().sort((a, b) => (total[b.owner] - total[a.owner]) || (a.owner < b.owner ? -1 : a.owner > b.owner ? 1 : 0) || (b.resource_hours - a.resource_hours));
    setRows($('usage'), sorted.map((u) => el('tr', {},
      el('td', { text: u.owner || '—' }),
      el('td', { text: u.type }),
      el('td', { text: Number(u.resource_hours).toFixed(1) }),
    )));
  }

  // ---- refresh loop ----

  let timer = null;
  let running = false;
  let again = false;
  let refreshes = 0;

  function alertBox(msg) {
    const a = $('alert');
    a.textContent = msg || '';
    a.hidden = !msg;
  }

  async function refresh() {
    if (running) { again = true; return; }
    running = true;
    clearTimeout(timer);
    const f = filters();
    try {
      const now = Date.now();
      const types = await getAll('/v1/types', {}, 100000);
      renderPools(types.items);
      renderFilters(types.items);
      const [res, queue, quar] = await Promise.all([
        getAll('/v1/resources', { type: f.type, state: f.state, owner: f.owner }, MAX_ROWS),
        getAll('/v1/queue', {}, 1000),
        getAll('/v1/resources', { state: 'quarantined' }, 1000),
      ]);
      renderResources(res, f);
      renderQueue(queue);
      renderQuarantined(quar);
      await Promise.all([
        optional($('history'), 'hist-empty', async () => (await getJSON('/v1/history', { since: new Date(now - 86400e3).toISOString(), limit: 50 })).items || [], renderHistory, 'history'),
        optional($('usage'), 'usage-empty', async () => (await getJSON('/v1/usage', { since: new Date(now - 7 * 86400e3).toISOString(), until: new Date(now).toISOString() })).items || [], renderUsage, 'usage'),
      ]);
      const total = types.items.reduce((n, t) => n + t.total, 0);
      $('status').textContent = 'Updated ' + new Date().toLocaleTimeString() + ' · ' + types.items.length + ' types, ' + total + ' resources';
      alertBox('');
      document.body.dataset.state = 'ok';
    } catch (err) {
      document.body.dataset.state = 'error';
      if (err instanceof HTTPError && err.status === 401) {
        alertBox('This server needs credentials: reload the page and sign in.');
      } else if (err instanceof HTTPError && err.status === 403) {
        alertBox('Your credentials may not read this server: ' + err.message);
      } else {
        alertBox('Could not refresh: ' + err.message);
      }
      $('status').textContent = 'Refresh failed at ' + new Date().toLocaleTimeString();
    } finally {
      refreshes++;
      document.body.dataset.refreshes = String(refreshes);
      running = false;
      if (again) {
        again = false;
        refresh();
      } else if ($('autorefresh').checked) {
        timer = setTimeout(refresh, REFRESH_MS);
      }
    }
  }

  // The filters live in the page's query string, so a view can be shared.
  function filtersToURL() {
    const f = filters();
    const u = new URL(window.location.href);
    for (const k of ['type', 'state', 'owner', 'name']) {
      if (f[k]) u.searchParams.set(k, f[k]); else u.searchParams.delete(k);
    }
    window.history.replaceState(null, '', u);
  }

  function filtersFromURL() {
    const q = new URL(window.location.href).searchParams;
    for (const k of ['type', 'state']) {
      const v = q.get(k);
      if (v) {
        const sel = $('f-' + k);
        sel.append(el('option', { value: v, text: v }));
        sel.value = v;
      }
    }
    $('f-owner').value = q.get('owner') || '';
    $('f-name').value = q.get('name') || '';
  }

  document.addEventListener('DOMContentLoaded', () => {
    filtersFromURL();
    $('filters').addEventListener('submit', (ev) => {
      ev.preventDefault();
      filtersToURL();
      refresh();
    });
    $('filters').addEventListener('reset', () => {
      setTimeout(() => { filtersToURL(); refresh(); }, 0);
    });
    $('autorefresh').addEventListener('change', () => {
      if ($('autorefresh').checked) refresh(); else clearTimeout(timer);
    });
    refresh();
  });
})();
