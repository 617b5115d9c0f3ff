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

  // The list is read a page at a time, in the API's order (name, then submission, then id).
  const PAGE = 50;
  const state = { filter: '', search: '', rows: [], next: null, current: null, confirmed: false };
  const $ = (id) => document.getElementById(id);

  // ---- text that came from outside --------------------------------------------------------

  // C0 controls and DEL become their visible pictures (␛, ␇, ...); every other character the
  // service refuses in a name (other controls, format characters such as zero-width and
  // direction marks, line/paragraph separators, private use, noncharacters, the letters drawn
  // as nothing) becomes a [U+200B]-style mark, so a value stored before the rule cannot
  // reorder, hide or imitate what follows it.
  function visible(value, multiline) {
    const s = value === null || value === undefined ? '' : String(value);
    return s
      .replace(/[\u0000-\u001F\u007F]/g, (c) => {
        if (multiline && (c === '\n' || c === '\t')) return c;
        return c === '\u007F' ? '\u2421' : String.fromCharCode(0x2400 + c.charCodeAt(0));
      })
      .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Noncharacter_Code_Point}\u115F\u1160\u3164\uFFA0\u2800]/gu, (c) => {
        // The line breaks and tabs the first pass kept stay what they are.
        if (multiline && (c === '\n' || c === '\t')) return c;
        return '[U+' + c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0') + ']';
      });
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

  // The message region is announced (aria-live) and scrolled into view, so the outcome of a
  // click further down the page is neither silent nor out of sight.
  function say(kind, text) {
    const box = $('messages');
    box.replaceChildren(node('p', { class: kind, 'data-kind': kind, text: visible(text) }));
    box.scrollIntoView({ block: 'nearest' });
  }

  function clearMessages() {
    $('messages').replaceChildren();
  }

  // The API keeps POEM's words for its clients; the page says what to do here.
  function problem(status, body) {
    let text = body && typeof body.detail === 'string' ? body.detail : 'HTTP ' + status;
    if (status === 409 && text.includes('"force": true')) {
      text = text.replace(/Send "force": true to deploy anyway\.?/, 'Tick Force to deploy before the testing period ends.');
    } else if ((status === 401 || status === 403) && key()) {
      text = /role/.test(text)
        ? 'This key has no monitoring role: use a key created with --role monitoring.'
        : 'This key is not valid: check it, or create one with telltale keys create --role monitoring.';
    }
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
    return { status: resp.status, body: parsed, link: resp.headers.get('link') };
  }

  // The next page's query from a Link header (`<?limit=50&cursor=...>; rel="next"`).
  function nextPage(link) {
    const m = /<(\?[^>]*)>;\s*rel="next"/.exec(link || '');
    return m ? m[1] : null;
  }

  // A refused key: forget it and ask again.
  function refused(result) {
    if (result.status === 401 || result.status === 403) {
      const message = problem(result.status, result.body);
      window.sessionStorage.removeItem(KEY_STORE);
      show('login');
      say('error', message);
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

  function listQuery() {
    let q = '/?limit=' + PAGE;
    if (state.filter) q += '&status=' + encodeURIComponent(state.filter);
    if (state.search) q += '&q=' + encodeURIComponent(state.search);
    return q;
  }

  // The first page of the list for the filter and search; `more` appends the next one.
  async function loadList(more) {
    const query = more ? state.next : listQuery();
    if (!query) return;
    $('more').disabled = true;
    const page = await call('GET', query.startsWith('/') ? query : '/' + query);
    $('more').disabled = false;
    if (refused(page)) return;
    if (page.status !== 200) return say('error', problem(page.status, page.body));
    state.rows = more ? state.rows.concat(page.body) : page.body;
    state.next = nextPage(page.link);
    renderFilters();
    renderList();
    show('list-view');
  }

  function renderFilters() {
    const button = (status, label) => {
      const b = node('button', { type: 'button', 'data-status': status, 'aria-pressed': String(state.filter === status), text: label });
      b.addEventListener('click', () => { state.filter = status; loadList(false); });
      return b;
    };
    $('counts').replaceChildren(button('', 'All'), ...STATUSES.map((s) => button(s, s)));
  }

  function renderList() {
    const now = Date.now();
    const rows = state.rows.map((c) => {
      const open = node('a', { href: '#' + encodeURIComponent(c.id), class: 'open', title: visible(c.name) }, [untrusted(c.name)]);
      const since = parseDate(c.status_changed_at);
      return node('tr', { 'data-id': c.id, 'data-status': c.status }, [
        node('td', { class: 'name' }, [open]),
        node('td', { class: 'id', title: c.id, text: String(c.id).slice(0, 8) }),
        node('td', { class: 'contact' }, [untrusted(c.contact || '')]),
        node('td', { class: 'by' }, [untrusted(c.submitted_by || '')]),
        node('td', { text: c.status }),
        node('td', { text: c.created }),
        node('td', { text: c.last_update }),
        node('td', { class: 'age', text: since === null ? '' : duration(now - since) }),
        node('td', { class: 'deploy', text: deployableIn(c) }),
      ]);
    });
    $('list').querySelector('tbody').replaceChildren(...rows);
    $('empty').hidden = rows.length > 0;
    $('more').hidden = !state.next;
    $('shown').textContent = rows.length === 0 ? '' : rows.length + (state.next ? ' shown, more below' : ' shown, all');
  }

  // ---- where the page is: #<id> opens a candidate; Back and Forward move between them -------

  function wanted() {
    const h = window.location.hash.slice(1);
    if (!h) return null;
    // A link cut inside an escape (#%E0%A4%A) is asked for as it is, and is not found.
    try { return decodeURIComponent(h); } catch (e) { return h; }
  }

  async function route() {
    clearMessages();
    const id = wanted();
    if (id) return openCandidate(id);
    if (state.rows.length === 0) return loadList(false);
    show('list-view');
  }

  async function openCandidate(id) {
    clearMessages();
    const result = await call('GET', '/' + encodeURIComponent(id));
    if (refused(result)) return;
    if (result.status !== 200) {
      // Whatever was open before is not what the link names: back to the list, saying why.
      state.current = null;
      if (state.rows.length === 0) await loadList(false);
      show('list-view');
      return say('error', problem(result.status, result.body));
    }
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
    $('apply').disabled = false;
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
      // The question is where the eye and the keyboard are, not below the fold.
      $('confirm-force').scrollIntoView({ block: 'nearest' });
      $('confirm-yes').focus();
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
    // The list shows the change when it is next opened.
    state.rows = [];
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
      route();
    });
    $('forget').addEventListener('click', () => {
      window.sessionStorage.removeItem(KEY_STORE);
      clearMessages();
      show('login');
    });
    $('search-form').addEventListener('submit', (e) => {
      e.preventDefault();
      state.search = $('search').value.trim();
      loadList(false);
    });
    $('more').addEventListener('click', () => loadList(true));
    // Links to #<id> open the candidate through the hash, so Back returns to the list.
    window.addEventListener('hashchange', () => { if (key()) route(); });
    $('back').addEventListener('click', () => {
      window.history.pushState(null, '', window.location.pathname + window.location.search);
      route();
    });
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
    if (key()) route();
    else show('login');
  }

  start();
})();
