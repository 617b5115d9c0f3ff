// The monitoring team's page: talks only to the probe API of the same origin.
// Everything a submitter typed is put on the page as text (textContent, never HTML), with
// control characters and bidi overrides made visible.
(() => {
  'use strict';

  const KEY_STORE = 'telltale.monitoringKey';
  // The page is served at <stage>/team/; the API is beside it.
  const API = new URL('../api/v2/probes', window.location.href).pathname;
  const MIN_DAYS = Number(document.querySelector('meta[name="telltale-testing-min-days"]').content);
  const STATUSES = ['submitted', 'processing', 'testing', 'deployed', 'rejected'];
  // The API's transition table (probe-status refuses anything else with a 409).
  const NEXT = {
    submitted: ['processing', 'rejected'],
    processing: ['testing', 'rejected'],
    testing: ['deployed', 'processing', 'rejected'],
    deployed: [],
    rejected: [],
  };
  // The field each target status needs, as the API names it.
  const NEEDS = {
    processing: ['service_type', 'Service type'],
    testing: ['devel_url', 'Devel URL'],
    deployed: ['production_url', 'Production URL'],
    rejected: ['rejection_reason', 'Rejection reason'],
  };
  const DETAIL_FIELDS = [
    ['id', 'Id'], ['name', 'Name'], ['status', 'Status'], ['version', 'Version'],
    ['description', 'Description'], ['docurl', 'Documentation'], ['command', 'Command'],
    ['contact', 'Contact'], ['rpm', 'RPM'], ['yum_baseurl', 'YUM base URL'], ['script', 'Script'],
    ['service_type', 'Service type'], ['devel_url', 'Devel URL'],
    ['production_url', 'Production URL'], ['rejection_reason', 'Rejection reason'],
    ['submitted_by', 'Submitted with key'], ['created', 'Submitted (UTC)'],
    ['last_update', 'Last change (UTC)'], ['status_changed_at', 'In this status since (UTC)'],
  ];
  const MULTILINE = new Set(['description', 'command', 'rejection_reason']);
  const LINKS = new Set(['docurl', 'yum_baseurl', 'script', 'devel_url', 'production_url']);

  const state = { filter: '', sort: 'created', descending: true, current: null, confirmed: false };
  const $ = (id) => document.getElementById(id);

  // ---- text that came from outside --------------------------------------------------------

  // C0 controls and DEL become their visible pictures (␛, ␇, ...); every other character the
  // service refuses in a name (other controls, format characters such as zero-width and
  // direction marks, line/paragraph separators, private use) becomes a [U+200B]-style mark, so
  // a value stored before the rule cannot reorder, hide or imitate what follows it.
  function visible(value, multiline) {
    const s = value === null || value === undefined ? '' : String(value);
    return s
      .replace(/[\u0000-\u001F\u007F]/g, (c) => {
        if (multiline && (c === '\n' || c === '\t')) return c;
        return c === '\u007F' ? '\u2421' : String.fromCharCode(0x2400 + c.charCodeAt(0));
      })
      .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}]/gu,
        (c) => '[U+' + c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0') + ']');
  }

  function node(tag, props, children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'text') e.textContent = v;
      else if (k === 'class') e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children || []) e.append(c);
    return e;
  }

  // Untrusted text, isolated from its surroundings (<bdi>) and never parsed as HTML.
  function untrusted(value, multiline) {
    return node('bdi', { class: multiline ? 'user multiline' : 'user', text: visible(value, multiline) });
  }

  // http(s) URLs become links opened without a referrer or a handle on this page.
  function linkOrText(value) {
    if (typeof value === 'string' && /^https?:\/\/[^\s]+$/i.test(value)) {
      return node('a', { href: value, rel: 'noopener noreferrer', target: '_blank', class: 'user', text: visible(value) });
    }
    return untrusted(value);
  }

  // ---- messages ---------------------------------------------------------------------------

  function say(kind, text) {
    const box = $('messages');
    box.replaceChildren(node('p', { class: kind, 'data-kind': kind, text: visible(text) }));
  }

  function clearMessages() {
    $('messages').replaceChildren();
  }

  function problem(status, body) {
    let text = body && typeof body.detail === 'string' ? body.detail : 'HTTP ' + status;
    if (body && Array.isArray(body.errors)) {
      const fields = body.errors.map((e) => e.field + ': ' + e.message).join('; ');
      if (fields && !text.includes(fields)) text += ' (' + fields + ')';
    }
    return status + ': ' + text;
  }

  // ---- the API ----------------------------------------------------------------------------

  function key() {
    return window.sessionStorage.getItem(KEY_STORE);
  }

  async function call(method, path, body, extraHeaders) {
    const headers = Object.assign({ 'x-api-key': key(), Accept: 'application/json' }, extraHeaders || {});
    const init = { method, headers, cache: 'no-store', credentials: 'omit', redirect: 'error' };
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(API + path, init);
    } catch (e) {
      return { status: 0, body: { detail: 'the probe API could not be reached (' + e.message + ')' } };
    }
    let parsed = null;
    try {
      parsed = await resp.json();
    } catch (e) {
      parsed = { detail: 'the answer was not JSON' };
    }
    return { status: resp.status, body: parsed };
  }

  // A refused key: forget it and ask again.
  function refused(result) {
    if (result.status === 401 || result.status === 403) {
      window.sessionStorage.removeItem(KEY_STORE);
      show('login');
      say('error', problem(result.status, result.body));
      return true;
    }
    return false;
  }

  // ---- dates ------------------------------------------------------------------------------

  // The API answers in POEM's format, UTC: "2026-11-24 08:50:46".
  function parseDate(s) {
    const t = Date.parse(String(s).replace(' ', 'T') + 'Z');
    return Number.isNaN(t) ? null : t;
  }

  function duration(ms) {
    const minutes = Math.floor(Math.max(ms, 0) / 60000);
    const d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
    if (d > 0) return d + ' d ' + h + ' h';
    if (h > 0) return h + ' h ' + m + ' min';
    return m > 0 ? m + ' min' : 'under a minute';
  }

  function deployableIn(item) {
    if (item.status !== 'testing') return '';
    const since = parseDate(item.status_changed_at);
    if (since === null) return '';
    const left = since + MIN_DAYS * 86400000 - Date.now();
    return left <= 0 ? 'allowed now' : 'in ' + duration(left);
  }

  // ---- views ------------------------------------------------------------------------------

  function show(view) {
    for (const id of ['login', 'list-view', 'detail-view']) $(id).hidden = id !== view;
    $('forget').hidden = view === 'login';
  }

  async function loadList() {
    const all = await call('GET', '/');
    if (refused(all)) return;
    if (all.status !== 200) return say('error', problem(all.status, all.body));
    let items = all.body;
    if (state.filter) {
      const filtered = await call('GET', '/?status=' + encodeURIComponent(state.filter));
      if (refused(filtered)) return;
      if (filtered.status !== 200) return say('error', problem(filtered.status, filtered.body));
      items = filtered.body;
    }
    renderCounts(all.body);
    renderList(items);
    show('list-view');
  }

  function renderCounts(all) {
    const counts = Object.fromEntries(STATUSES.map((s) => [s, 0]));
    for (const c of all) if (c.status in counts) counts[c.status] += 1;
    const button = (status, label) => {
      const b = node('button', { type: 'button', 'data-status': status, 'aria-pressed': String(state.filter === status), text: label });
      b.addEventListener('click', () => { state.filter = status; loadList(); });
      return b;
    };
    $('counts').replaceChildren(
      button('', 'All (' + all.length + ')'),
      ...STATUSES.map((s) => button(s, s + ' (' + counts[s] + ')')),
    );
  }

  function renderList(items) {
    const key = state.sort;
    const sorted = items.slice().sort((a, b) => {
      const x = String(a[key]), y = String(b[key]);
      const order = key === 'name' ? x.localeCompare(y) : (x < y ? -1 : x > y ? 1 : 0);
      return state.descending ? -order : order;
    });
    const now = Date.now();
    const rows = sorted.map((c) => {
      const open = node('a', { href: '#' + encodeURIComponent(c.id), class: 'open' }, [untrusted(c.name)]);
      open.addEventListener('click', (e) => { e.preventDefault(); openCandidate(c.id); });
      const since = parseDate(c.status_changed_at);
      return node('tr', { 'data-id': c.id, 'data-status': c.status }, [
        node('td', {}, [open]),
        node('td', { text: c.status }),
        node('td', { text: c.created }),
        node('td', { text: c.last_update }),
        node('td', { class: 'age', text: since === null ? '' : duration(now - since) }),
        node('td', { class: 'deploy', text: deployableIn(c) }),
      ]);
    });
    $('list').querySelector('tbody').replaceChildren(...rows);
    $('empty').hidden = rows.length > 0;
    for (const b of $('list').querySelectorAll('button[data-sort]')) {
      b.setAttribute('aria-sort', b.dataset.sort === key ? (state.descending ? 'descending' : 'ascending') : 'none');
    }
  }

  async function openCandidate(id) {
    clearMessages();
    const result = await call('GET', '/' + encodeURIComponent(id));
    if (refused(result)) return;
    if (result.status !== 200) return say('error', problem(result.status, result.body));
    renderDetails(result.body);
    show('detail-view');
  }

  function renderDetails(c) {
    state.current = c;
    state.confirmed = false;
    $('detail-title').replaceChildren(untrusted(c.name), ' ', node('span', { class: 'badge', text: c.status }));
    const rows = [];
    for (const [field, label] of DETAIL_FIELDS) {
      const value = c[field];
      let shown;
      if (value === null || value === undefined || value === '') shown = node('span', { class: 'none', text: '—' });
      else if (LINKS.has(field)) shown = linkOrText(value);
      else if (field === 'command') shown = node('pre', {}, [untrusted(value, true)]);
      else shown = untrusted(value, MULTILINE.has(field));
      rows.push(node('dt', { text: label }), node('dd', { 'data-field': field }, [shown]));
    }
    $('fields').replaceChildren(...rows);

    $('history').querySelector('tbody').replaceChildren(...(c.history || []).map((h) => node('tr', {}, [
      node('td', { text: h.at }),
      node('td', { text: h.from || '—' }),
      node('td', { text: h.to }),
      node('td', {}, [untrusted(h.by)]),
      node('td', { text: h.forced ? 'forced' : '' }),
    ])));
    $('emails').querySelector('tbody').replaceChildren(...(c.emails || []).map((e) => node('tr', { 'data-status': e.status, 'data-state': e.state }, [
      node('td', { text: e.status }),
      node('td', { class: 'state ' + e.state, text: e.state }),
      node('td', { text: String(e.attempts) }),
      node('td', { text: e.sent_at || '' }),
      node('td', {}, [untrusted(e.last_error || '')]),
    ])));
    renderChangeForm(c);
  }

  function renderChangeForm(c) {
    const targets = NEXT[c.status] || [];
    $('change').hidden = targets.length === 0;
    $('final').hidden = targets.length > 0;
    $('confirm-force').hidden = true;
    $('target').replaceChildren(...targets.map((t) => node('option', { value: t, text: t })));
    $('needed').value = '';
    $('force').checked = false;
    updateNeeded();
  }

  function updateNeeded() {
    const c = state.current;
    const target = $('target').value;
    const need = NEEDS[target];
    $('needed-row').hidden = !need;
    if (need) {
      $('needed-label').textContent = need[1];
      $('needed').type = need[0].endsWith('_url') ? 'url' : 'text';
      // A field the candidate has already is offered as it is.
      $('needed').value = c && c[need[0]] ? c[need[0]] : '';
    }
    const early = c && c.status === 'testing' && target === 'deployed' && deployableIn(c) !== 'allowed now';
    $('force-row').hidden = !early;
    if (early) {
      $('force-label').textContent = 'Force: deploy before the ' + MIN_DAYS + '-day testing period is over (' + deployableIn(c) + ')';
    }
    $('force').checked = false;
    state.confirmed = false;
  }

  async function applyChange() {
    const c = state.current;
    const target = $('target').value;
    const force = !$('force-row').hidden && $('force').checked;
    if (force && !state.confirmed) {
      $('confirm-text').textContent = 'Deploy ' + visible(c.name) + ' now, ' + deployableIn(c) + ' before its testing period ends? The history records it as forced.';
      $('confirm-force').hidden = false;
      $('apply').disabled = true;
      return;
    }
    const body = { status: target };
    const need = NEEDS[target];
    if (need) body[need[0]] = $('needed').value;
    if (force) body.force = true;
    $('apply').disabled = true;
    const result = await call('PUT', '/' + encodeURIComponent(c.id) + '/status', body, { 'If-Match': '"' + c.version + '"' });
    $('apply').disabled = false;
    state.confirmed = false;
    $('confirm-force').hidden = true;
    if (refused(result)) return;
    if (result.status === 412) {
      return say('error', 'This candidate was changed since you opened it — reload it to see the change, then try again. (' + problem(result.status, result.body) + ')');
    }
    if (result.status !== 200) return say('error', problem(result.status, result.body));
    renderDetails(result.body);
    if (result.body.warning) say('warning', result.body.warning);
    else say('info', 'Status changed to ' + result.body.status + '.');
  }

  // ---- wiring -----------------------------------------------------------------------------

  function start() {
    $('key-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const typed = $('key').value.trim();
      $('key').value = '';
      if (!typed) return;
      // A header value the browser could not even send: say so instead of failing the fetch.
      if (!/^[\x21-\x7e]+$/.test(typed)) {
        say('error', 'A key is made of visible ASCII characters only; check what was pasted.');
        return;
      }
      window.sessionStorage.setItem(KEY_STORE, typed);
      clearMessages();
      loadList();
    });
    $('forget').addEventListener('click', () => {
      window.sessionStorage.removeItem(KEY_STORE);
      clearMessages();
      show('login');
    });
    for (const b of $('list').querySelectorAll('button[data-sort]')) {
      b.addEventListener('click', () => {
        state.descending = state.sort === b.dataset.sort ? !state.descending : b.dataset.sort !== 'name';
        state.sort = b.dataset.sort;
        loadList();
      });
    }
    $('back').addEventListener('click', () => { clearMessages(); loadList(); });
    $('reload').addEventListener('click', () => openCandidate(state.current.id));
    $('target').addEventListener('change', updateNeeded);
    $('change').addEventListener('submit', (e) => { e.preventDefault(); applyChange(); });
    $('confirm-yes').addEventListener('click', () => { state.confirmed = true; $('apply').disabled = false; applyChange(); });
    $('confirm-no').addEventListener('click', () => {
      state.confirmed = false;
      $('confirm-force').hidden = true;
      $('apply').disabled = false;
      $('force').checked = false;
    });
    if (key()) loadList();
    else show('login');
  }

  start();
})();
