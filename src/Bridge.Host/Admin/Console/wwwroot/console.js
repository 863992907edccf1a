// The bridge console. Plain JavaScript, no framework, no build step.
// Security: the token lives in sessionStorage (this tab only) and travels in the Authorization header only, never in a
// cookie or a URL, so another site cannot make this browser act (no CSRF). Every value from the server is put into the
// page with textContent (never innerHTML), and the Content-Security-Policy forbids inline script besides.
'use strict';

(() => {
  const TOKEN_KEY = 'bridge.console.token';
  const POLL_MS = 3000;
  const API = {
    access: '/console/access.json',
    overview: '/api/console/overview',
    policy: '/api/console/policy',
    audit: '/api/console/audit',
    verify: '/api/console/audit/verify',
    links: '/api/links',
    link: id => `/api/links/${encodeURIComponent(id)}`,
    pause: id => `/api/links/${encodeURIComponent(id)}/pause`,
    resume: id => `/api/links/${encodeURIComponent(id)}/resume`,
    endpoints: id => `/api/links/${encodeURIComponent(id)}/endpoints`,
    endpoint: (id, e) => `/api/links/${encodeURIComponent(id)}/endpoints?network=${encodeURIComponent(e.network)}&channel=${encodeURIComponent(e.channel)}`,
    deadLetters: '/api/deadletters',
    deadLettersLegacy: '/deadletters',
    retry: id => `/api/deadletters/${encodeURIComponent(id)}/retry`,
    drop: id => `/api/deadletters/${encodeURIComponent(id)}`,
  };
  const VIEWS = ['networks', 'links', 'deadletters', 'audit'];

  const $ = id => document.getElementById(id);
  const state = { overview: null, view: 'networks', timer: null, busy: false, linksApi: true, deadApi: true, networks: [] };

  // ---------------------------------------------------------------- DOM helpers

  /** Builds an element; strings become text nodes (never parsed as HTML). */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  /** A table cell whose content is one block, so that the phone layout (label beside content) holds any content. */
  function cell(attrs, ...children) {
    return h('td', attrs, h('div', { class: 'cell' }, ...children));
  }

  function replace(container, ...children) {
    container.replaceChildren(...children.flat().filter(c => c !== null && c !== undefined && c !== false));
  }

  function ago(iso) {
    if (!iso) return '';
    const s = Math.max(0, Math.round((Date.now() - new Date(iso).getTime()) / 1000));
    if (s < 60) return `${s}s ago`;
    if (s < 3600) return `${Math.floor(s / 60)}m ago`;
    if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
    return new Date(iso).toLocaleString();
  }

  function when(iso) {
    return iso ? new Date(iso).toLocaleString() : '';
  }

  let toastTimer = null;
  function toast(text, bad) {
    const t = $('toast');
    t.textContent = text;
    t.className = bad ? 'toast bad' : 'toast';
    t.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.hidden = true; }, 4000);
  }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, message, field) {
      super(message);
      this.status = status;
      this.field = field;
    }
  }

  async function api(path, options = {}) {
    const headers = { Accept: 'application/json' };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = `Bearer ${token}`;
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(path, {
      method: options.method || 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      credentials: 'omit',
      cache: 'no-store',
    });
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = null; }
    if (!response.ok) {
      const message = (body && body.error) || text.trim() || `${response.status} ${response.statusText}`;
      throw new ApiError(response.status, message, body && body.field);
    }
    return body;
  }

  function describeError(e) {
    if (e instanceof ApiError) {
      if (e.status === 403) return `Not allowed: ${e.message}`;
      return e.field ? `${e.message} (${e.field})` : e.message;
    }
    return `The daemon did not answer (${e.message})`;
  }

  // ---------------------------------------------------------------- sign in / out

  function showLogin(message) {
    stopPolling();
    $('app').hidden = true;
    $('instance').hidden = true;
    $('signout').hidden = true;
    $('login').hidden = false;
    setLive(false, 'signed out');
    const err = $('login-error');
    err.textContent = message || '';
    err.hidden = !message;
    $('token').focus();
  }

  async function signIn(event) {
    event.preventDefault();
    const token = $('token').value.trim();
    if (!token) return;
    sessionStorage.setItem(TOKEN_KEY, token);
    $('login-button').disabled = true;
    try {
      await start();
    } finally {
      $('login-button').disabled = false;
    }
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    $('token').value = '';
    showLogin();
  }

  async function start() {
    if (!sessionStorage.getItem(TOKEN_KEY)) {
      // Without a token, ask for one first when the daemon needs it (a refused request would be audited).
      try {
        const access = await api(API.access);
        if (access.tokenRequired) {
          showLogin();
          return;
        }
      } catch (e) {
        showLogin(describeError(e));
        return;
      }
    }
    try {
      state.overview = await api(API.overview);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        const had = sessionStorage.getItem(TOKEN_KEY);
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin(had ? `That token was refused: ${e.message}` : null);
        return;
      }
      showLogin(describeError(e));
      return;
    }
    $('login').hidden = true;
    $('app').hidden = false;
    $('signout').hidden = false;
    $('signout').textContent = sessionStorage.getItem(TOKEN_KEY) ? 'Sign out' : 'Sign in';
    renderInstance();
    if ($('endpoint-rows').children.length === 0) resetEndpointRows();
    route();
    startPolling();
  }

  // ---------------------------------------------------------------- polling

  function setLive(on, text) {
    $('live').className = on ? 'live on' : 'live off';
    $('live-text').textContent = text;
  }

  function startPolling() {
    stopPolling();
    state.timer = setInterval(refresh, POLL_MS);
    refresh();
  }

  function stopPolling() {
    if (state.timer) clearInterval(state.timer);
    state.timer = null;
  }

  async function refresh() {
    if (state.busy || document.hidden) return;
    state.busy = true;
    try {
      state.overview = await api(API.overview);
      renderInstance();
      await renderView();
      setLive(true, 'live');
      $('banner').hidden = true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        sessionStorage.removeItem(TOKEN_KEY);
        showLogin('Your token is no longer accepted; sign in again.');
        return;
      }
      setLive(false, 'offline');
      $('banner').textContent = describeError(e);
      $('banner').hidden = false;
    } finally {
      state.busy = false;
    }
  }

  // ---------------------------------------------------------------- routing

  function route() {
    const wanted = location.hash.replace('#', '');
    state.view = VIEWS.includes(wanted) ? wanted : 'networks';
    for (const v of VIEWS) {
      $(`view-${v}`).hidden = v !== state.view;
    }
    for (const a of document.querySelectorAll('.tabs a')) {
      a.classList.toggle('active', a.dataset.view === state.view);
    }
    if (state.overview) {
      renderView().catch(e => toast(describeError(e), true));
    }
  }

  async function renderView() {
    switch (state.view) {
      case 'networks': renderNetworks(); break;
      case 'links': await renderLinks(); break;
      case 'deadletters': await renderDeadLetters(); break;
      case 'audit': await renderAudit(); break;
    }
    await updateDeadCount();
  }

  // ---------------------------------------------------------------- instance

  function renderInstance() {
    const o = state.overview;
    if (!o) return;
    const role = o.instance.role;
    const pill = $('instance-role');
    pill.textContent = role === 'single' ? 'active' : role;
    pill.className = `pill ${role === 'active' || role === 'single' ? 'ok' : role === 'standby' ? 'warn' : 'bad'}`;
    $('instance-name').textContent = role === 'standby' && o.instance.holder
      ? `${o.instance.name} · active: ${o.instance.holder}`
      : o.instance.name;
    $('instance').hidden = false;
    state.networks = o.networks.map(n => n.id);
  }

  // ---------------------------------------------------------------- networks

  function renderNetworks() {
    const o = state.overview;
    $('updated').textContent = `updated ${new Date(o.at).toLocaleTimeString()}`;
    if (o.networks.length === 0) {
      replace($('networks'), h('p', { class: 'empty' }, o.instance.role === 'standby'
        ? 'This instance is standing by: the active instance runs the networks.'
        : 'No network is running yet.'));
      return;
    }
    replace($('networks'), o.networks.map(n => {
      const status = !n.connected ? 'down' : (n.degraded || n.waiting) ? 'degraded' : 'up';
      const label = { up: 'Connected', down: 'Disconnected', degraded: 'Degraded' }[status];
      const rooms = n.roomsJoined === null || n.roomsJoined === undefined ? '–' : `${n.roomsJoined} / ${n.roomsLinked}`;
      return h('article', { class: `card network ${status}`, 'data-network': n.id },
        h('header', {},
          h('h3', {}, n.id),
          h('span', { class: 'kind' }, n.kind),
          h('span', { class: `pill ${status === 'up' ? 'ok' : status === 'down' ? 'bad' : 'warn'}`, 'data-field': 'status' }, label)),
        h('dl', { class: 'facts' },
          h('div', {}, h('dt', {}, 'Rooms joined'), h('dd', { 'data-field': 'rooms' }, rooms)),
          h('div', {}, h('dt', {}, 'Outbox'), h('dd', { 'data-field': 'pending' }, n.pending === null ? '?' : n.pending)),
          h('div', {}, h('dt', {}, 'Reconnects'), h('dd', { 'data-field': 'reconnects' }, n.reconnects ?? '–')),
          h('div', {}, h('dt', {}, 'Connected'), h('dd', { 'data-field': 'connected' }, n.connected ? 'yes' : 'no'))),
        n.waiting && h('p', { class: 'note warn', 'data-field': 'waiting' }, `Deliveries wait: ${n.waiting}`),
        n.degraded && h('p', { class: 'note warn', 'data-field': 'degraded' }, n.degraded),
        n.lastError && h('p', { class: 'note bad', 'data-field': 'last-error' },
          h('span', { class: 'when', title: when(n.lastErrorAt) }, `Last error, ${ago(n.lastErrorAt)}`), n.lastError));
    }));
  }

  // ---------------------------------------------------------------- links

  async function loadLinks() {
    const fileLinks = state.overview.links;
    if (!state.linksApi) return { links: fileLinks, editable: false };
    try {
      const body = await api(API.links);
      const list = Array.isArray(body) ? body : (body && body.links) || [];
      return { links: list, editable: true };
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) {
        state.linksApi = false; // this daemon has no links API: show the file's links, read only
        return { links: fileLinks, editable: false };
      }
      throw e;
    }
  }

  async function policyFor(link) {
    const known = state.overview.links.find(l => l.id === link.id);
    if (known && known.policy) return known.policy;
    if (link.policy) return link.policy;
    const networks = [...new Set((link.endpoints || []).map(e => e.network))];
    if (networks.length === 0) return [];
    try {
      const body = await api(`${API.policy}?link=${encodeURIComponent(link.id)}&networks=${encodeURIComponent(networks.join(','))}`);
      return body.policy;
    } catch {
      return [];
    }
  }

  function policyChips(p) {
    const chips = [];
    if (p.blocked) chips.push(h('span', { class: 'chip bad' }, 'nothing delivered'));
    else chips.push(h('span', { class: 'chip ok' }, 'delivers'));
    for (const s of p.barredSources || []) chips.push(h('span', { class: 'chip bad' }, `barrier: not from ${s}`));
    if (p.clearance) chips.push(h('span', { class: 'chip' }, `clearance ${p.clearance}`));
    if (p.sourceFilters) chips.push(h('span', { class: 'chip warn' }, `${p.sourceFilters} source filter${p.sourceFilters > 1 ? 's' : ''}`));
    if (p.redactions) chips.push(h('span', { class: 'chip warn' }, `${p.redactions} redaction${p.redactions > 1 ? 's' : ''}`));
    if (p.attachments) chips.push(h('span', { class: 'chip warn' }, `files ${p.attachments}`));
    if (p.links) chips.push(h('span', { class: 'chip warn' }, `links: ${p.links}`));
    if (p.maxLength) chips.push(h('span', { class: 'chip' }, `max ${p.maxLength} chars`));
    if (p.neutraliseMentions) chips.push(h('span', { class: 'chip' }, '@all neutralised'));
    return chips;
  }

  function linkState(link) {
    if (link.paused === true || link.state === 'paused') return 'paused';
    return 'active';
  }

  async function renderLinks() {
    // The view is drawn again on every poll: not while the operator is typing a room to add.
    if (document.querySelector('#links details.add-endpoint[open]')) return;
    const { links, editable } = await loadLinks();
    $('link-form').hidden = !editable;
    if (links.length === 0) {
      replace($('links'), h('p', { class: 'empty card' }, 'No link yet.'));
      return;
    }
    const rows = [];
    for (const link of links) {
      const policy = await policyFor(link);
      const status = linkState(link);
      const source = link.source || (link.readOnly ? 'file' : 'api');
      const canChange = editable && source !== 'file';
      rows.push(h('tr', { 'data-link': link.id },
        cell({ 'data-label': 'Link' }, h('strong', {}, link.id), h('div', { class: 'muted small' }, `from ${source}`)),
        cell({ 'data-label': 'State' }, h('span', { class: `pill ${status === 'paused' ? 'warn' : 'ok'}`, 'data-field': 'state' }, status)),
        cell({ 'data-label': 'Endpoints' }, (link.endpoints || []).map(e =>
          h('span', { class: 'endpoint mono', 'data-endpoint': `${e.network}:${e.channel}` }, `${e.network}: ${e.channel}`,
            e.language ? h('span', { class: 'muted' }, ` (${e.language})`) : null,
            canChange && h('button', { type: 'button', class: 'ghost remove', 'data-action': 'remove-endpoint', 'aria-label': `Remove ${e.network}: ${e.channel}`,
              onclick: () => removeEndpoint(link.id, e) }, '✕'))),
          canChange && addEndpointForm(link.id)),
        cell({ 'data-label': 'Policy per destination' }, policy.map(p =>
          h('div', { class: 'dest', 'data-destination': p.network }, h('b', {}, `→ ${p.network}`), ' ', h('span', { class: 'chips' }, policyChips(p))))),
        h('td', { class: 'actions' },
          canChange && status !== 'paused' && h('button', { type: 'button', 'data-action': 'pause', onclick: () => linkAction(link.id, 'pause') }, 'Pause'),
          canChange && status === 'paused' && h('button', { type: 'button', 'data-action': 'resume', onclick: () => linkAction(link.id, 'resume') }, 'Resume'),
          canChange && h('button', { type: 'button', class: 'danger', 'data-action': 'remove', onclick: () => removeLink(link.id) }, 'Remove'))));
    }
    replace($('links'), h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['Link', 'State', 'Endpoints', 'Policy per destination', ''].map(t => h('th', {}, t)))),
      h('tbody', {}, rows))));
  }

  async function linkAction(id, action) {
    try {
      await api(action === 'pause' ? API.pause(id) : API.resume(id), { method: 'POST' });
      toast(action === 'pause' ? `Link ${id} paused: messages wait in the outbox` : `Link ${id} resumed`);
      await refresh();
    } catch (e) {
      toast(describeError(e), true);
    }
  }

  async function removeLink(id) {
    if (!confirm(`Remove link ${id}? Its pending deliveries are dead-lettered.`)) return;
    try {
      await api(API.link(id), { method: 'DELETE' });
      toast(`Link ${id} removed`);
      await refresh();
    } catch (e) {
      toast(describeError(e), true);
    }
  }

  /** A small form under a link's rooms: one more room, joined live by the bridge. */
  function addEndpointForm(id) {
    const select = h('select', { name: 'network', 'aria-label': `Network of the room to add to ${id}` }, state.networks.map(n => h('option', { value: n }, n)));
    const input = h('input', { name: 'channel', required: true, 'aria-label': `Room to add to ${id}`, placeholder: 'room, #alias:server or channel' });
    const form = h('form', { class: 'add-endpoint', 'data-action': 'add-endpoint' }, select, input, h('button', { type: 'submit' }, 'Add room'));
    form.addEventListener('submit', async event => {
      event.preventDefault();
      const endpoint = { network: select.value, channel: input.value.trim() };
      const button = form.querySelector('button');
      button.disabled = true;
      try {
        await api(API.endpoints(id), { method: 'POST', body: endpoint });
        toast(`${endpoint.network}: ${endpoint.channel} added to ${id}`);
        form.closest('details').open = false;
        await refresh();
      } catch (e) {
        toast(describeError(e), true);
      } finally {
        button.disabled = false;
      }
    });
    return h('details', { class: 'add-endpoint' }, h('summary', {}, 'Add a room'), form);
  }

  async function removeEndpoint(id, e) {
    if (!confirm(`Remove ${e.network}: ${e.channel} from ${id}? Its pending deliveries are dead-lettered.`)) return;
    try {
      await api(API.endpoint(id, e), { method: 'DELETE' });
      toast(`${e.network}: ${e.channel} removed from ${id}`);
      await refresh();
    } catch (err) {
      toast(describeError(err), true);
    }
  }

  function endpointRow() {
    const select = h('select', { name: 'network', 'aria-label': 'Network', required: true },
      state.networks.map(n => h('option', { value: n }, n)));
    const row = h('div', { class: 'row endpoint-row' },
      h('label', {}, 'Network', select),
      h('label', {}, 'Room / channel', h('input', { name: 'channel', required: true, placeholder: 'room@conference.example.org, #room:server or channel name' })),
      h('button', { type: 'button', class: 'ghost remove', 'aria-label': 'Remove endpoint', onclick: () => row.remove() }, '✕'));
    return row;
  }

  async function createLink(event) {
    event.preventDefault();
    const id = $('link-id').value.trim();
    const endpoints = [...document.querySelectorAll('#endpoint-rows .endpoint-row')].map(r => ({
      network: r.querySelector('select').value,
      channel: r.querySelector('input').value.trim(),
    }));
    const err = $('link-error');
    err.hidden = true;
    $('create-link').disabled = true;
    try {
      await api(API.links, { method: 'POST', body: { id, endpoints } });
      toast(`Link ${id} created`);
      $('link-form').reset();
      resetEndpointRows();
      await refresh();
    } catch (e) {
      err.textContent = describeError(e);
      err.hidden = false;
    } finally {
      $('create-link').disabled = false;
    }
  }

  function resetEndpointRows() {
    replace($('endpoint-rows'), endpointRow(), endpointRow());
  }

  // ---------------------------------------------------------------- dead letters

  async function loadDeadLetters() {
    if (state.deadApi) {
      try {
        const body = await api(API.deadLetters);
        return { items: Array.isArray(body) ? body : (body && (body.deadLetters || body.items)) || [], actions: true };
      } catch (e) {
        if (!(e instanceof ApiError && (e.status === 404 || e.status === 405))) throw e;
        state.deadApi = false;
      }
    }
    return { items: await api(API.deadLettersLegacy), actions: false };
  }

  function deadId(d) { return d.id ?? d.outboxId; }

  function destinationText(d) {
    if (d.network) return `${d.network}:${d.channel}`;
    const dest = d.destination;
    if (!dest) return '';
    if (typeof dest === 'string') return dest;
    return `${dest.networkId ?? dest.network}:${dest.channelId ?? dest.channel}`;
  }

  async function renderDeadLetters() {
    const { items, actions } = await loadDeadLetters();
    if (items.length === 0) {
      replace($('deadletters'), h('p', { class: 'empty card' }, 'No dead letters. Every delivery arrived or is still being tried.'));
      return;
    }
    replace($('deadletters'), h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['#', 'Link', 'Destination', 'Origin', 'Reason', 'Attempts', 'When', ''].map(t => h('th', {}, t)))),
      h('tbody', {}, items.map(d => h('tr', { 'data-dead-letter': deadId(d) },
        cell({ 'data-label': '#' }, deadId(d)),
        cell({ 'data-label': 'Link' }, d.linkId ?? d.link),
        cell({ 'data-label': 'Destination', class: 'mono' }, destinationText(d)),
        cell({ 'data-label': 'Origin', class: 'mono' }, `${d.originNetwork ?? ''}/${d.originId ?? d.originNativeId ?? ''}`),
        cell({ 'data-label': 'Reason' }, d.reason),
        cell({ 'data-label': 'Attempts' }, d.attempts),
        cell({ 'data-label': 'When', title: when(d.at) }, ago(d.at)),
        h('td', { class: 'actions' },
          actions && h('button', { type: 'button', 'data-action': 'retry', onclick: () => deadAction(deadId(d), 'retry') }, 'Retry'),
          actions && h('button', { type: 'button', class: 'danger', 'data-action': 'drop', onclick: () => deadAction(deadId(d), 'drop') }, 'Drop'))))))));
  }

  async function deadAction(id, action) {
    if (action === 'drop' && !confirm(`Drop dead letter ${id}? It will never be delivered.`)) return;
    try {
      await api(action === 'retry' ? API.retry(id) : API.drop(id), { method: action === 'retry' ? 'POST' : 'DELETE' });
      toast(action === 'retry' ? `Dead letter ${id} queued again` : `Dead letter ${id} dropped`);
      await refresh();
    } catch (e) {
      toast(describeError(e), true);
    }
  }

  async function updateDeadCount() {
    const count = $('dead-count');
    try {
      const { items } = state.view === 'deadletters' ? { items: $('deadletters').querySelectorAll('tr[data-dead-letter]') } : await loadDeadLetters();
      count.textContent = String(items.length);
      count.hidden = items.length === 0;
    } catch {
      count.hidden = true;
    }
  }

  // ---------------------------------------------------------------- audit

  function fillSelect(select, values) {
    const current = select.value;
    const wanted = ['', ...values];
    const have = [...select.options].map(o => o.value);
    if (have.join('\n') === wanted.join('\n')) return;
    replace(select, h('option', { value: '' }, 'any'), values.map(v => h('option', { value: v }, v)));
    select.value = wanted.includes(current) ? current : '';
  }

  async function renderAudit() {
    fillSelect($('filter-link'), state.overview.links.map(l => l.id));
    fillSelect($('filter-network'), state.networks);
    const params = new URLSearchParams();
    for (const name of ['link', 'network', 'decision']) {
      const v = $(`filter-${name}`).value;
      if (v) params.set(name, v);
    }
    params.set('limit', '100');
    const body = await api(`${API.audit}?${params}`);
    if (body.records.length === 0) {
      replace($('audit'), h('p', { class: 'empty card' }, body.head === 0 ? 'The audit trail is empty.' : 'No record matches.'));
      return;
    }
    replace($('audit'), h('div', { class: 'table-wrap' }, h('table', {},
      h('thead', {}, h('tr', {}, ['#', 'When', 'Kind', 'Link', 'From', 'To', 'Decision', 'Rule', 'Label'].map(t => h('th', {}, t)))),
      h('tbody', {}, body.records.map(r => h('tr', { 'data-audit': r.seq },
        cell({ 'data-label': '#' }, r.seq),
        cell({ 'data-label': 'When', title: when(r.at) }, ago(r.at)),
        cell({ 'data-label': 'Kind' }, r.kind),
        cell({ 'data-label': 'Link' }, r.link),
        cell({ 'data-label': 'From', class: 'mono' }, [r.sourceNetwork, r.sourcePerson].filter(Boolean).join(' · ')),
        cell({ 'data-label': 'To', class: 'mono' }, r.destination),
        cell({ 'data-label': 'Decision' }, h('span', { class: `chip ${decisionClass(r.decision)}`, 'data-field': 'decision' }, r.decision)),
        cell({ 'data-label': 'Rule', class: 'mono' }, r.rule),
        cell({ 'data-label': 'Label' }, r.label))))),
      !body.complete && h('p', { class: 'muted small' }, `Searched back to record ${body.scannedFrom}.`)));
  }

  function decisionClass(d) {
    if (d === 'delivered') return 'ok';
    if (d === 'blocked' || d === 'dead-lettered' || d === 'unauthenticated' || d === 'forbidden') return 'bad';
    if (d === 'redacted' || d === 'skipped' || d === 'retracted') return 'warn';
    return '';
  }

  async function verify() {
    const button = $('verify');
    const result = $('verify-result');
    button.disabled = true;
    button.textContent = 'Verifying…';
    try {
      const r = await api(API.verify);
      result.className = r.ok ? 'result ok' : 'result bad';
      result.textContent = r.ok
        ? `Audit trail intact: ${r.records} records checked${r.keyedFrom ? `, keyed from record ${r.keyedFrom}` : ''}. Head ${r.head ?? '(empty)'}.`
        : `Audit trail BROKEN${r.firstBroken ? ` at record ${r.firstBroken}` : ''}: ${r.problem}`;
    } catch (e) {
      result.className = 'result bad';
      result.textContent = describeError(e);
    } finally {
      result.hidden = false;
      button.disabled = false;
      button.textContent = 'Verify audit trail';
    }
  }

  // ---------------------------------------------------------------- wiring

  document.addEventListener('DOMContentLoaded', () => {
    $('login-form').addEventListener('submit', signIn);
    $('signout').addEventListener('click', signOut);
    $('link-form').addEventListener('submit', createLink);
    $('add-endpoint').addEventListener('click', () => $('endpoint-rows').append(endpointRow()));
    $('verify').addEventListener('click', verify);
    $('audit-filter').addEventListener('change', () => renderAudit().catch(e => toast(describeError(e), true)));
    window.addEventListener('hashchange', route);
    document.addEventListener('visibilitychange', () => { if (!document.hidden && state.timer) refresh(); });
    start();
  });
})();
