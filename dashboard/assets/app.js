// replicaflow dashboard: polls api/status and draws every service.
'use strict';

(() => {
  const TOKEN_KEY = 'replicaflow.dashboard.token';
  const SVG = 'http://www.w3.org/2000/svg';
  const ICONS = {
    running: '●', starting: '◔', stopping: '◑', stopped: '■',
    failed: '✖', initialized: '○', configured: '◇',
  };
  const CAN_START = new Set(['initialized', 'configured', 'stopped', 'failed']);
  const CAN_STOP = new Set(['running', 'starting']);

  const $ = (sel, root = document) => root.querySelector(sel);
  const st = {
    seq: 0,
    token: sessionStorage.getItem(TOKEN_KEY) || '',
    status: null,
    series: new Map(), // name -> {id, points: []}
    cards: new Map(), // name -> article
    timer: 0,
    polling: false,
    again: false,
  };

  function headers() {
    return st.token ? { Authorization: 'Bearer ' + st.token } : {};
  }

  function setLive(kind, text) {
    const live = $('#live');
    live.dataset.live = kind;
    $('.dot', live).textContent = kind === 'ok' ? '●' : kind === 'connecting' ? '◌' : '⚠';
    $('#live-text').textContent = text;
  }

  // poll fetches the status once and schedules the next fetch.
  async function poll() {
    if (st.polling) { st.again = true; return; }
    st.polling = true;
    clearTimeout(st.timer);
    let delay = 1000;
    try {
      const url = st.seq ? 'api/status?since=' + st.seq : 'api/status';
      const res = await fetch(url, { headers: headers(), cache: 'no-store' });
      if (res.status === 401 || res.status === 403) {
        setLive('auth', res.status === 401 ? 'A valid access token is needed' : 'This client may not see the dashboard');
        $('#auth').open = true;
        delay = 5000;
      } else if (!res.ok) {
        throw new Error(await problemText(res));
      } else {
        const status = await res.json();
        if (status.seq < st.seq) { // the server restarted: start over
          st.seq = 0;
          st.series.clear();
          st.again = true;
        } else {
          render(status);
          delay = Math.max(250, (status.interval_seconds || 1) * 1000);
          setLive('ok', 'Live · updated ' + new Date(status.time).toLocaleTimeString());
        }
      }
    } catch (err) {
      setLive('error', 'Disconnected (' + (err && err.message ? err.message : err) + '); retrying');
      delay = 3000;
    } finally {
      st.polling = false;
    }
    if (st.again) { st.again = false; delay = 0; }
    st.timer = setTimeout(poll, delay);
  }

  async function problemText(res) {
    let detail = res.status + ' ' + res.statusText;
    try {
      const body = await res.json();
      if (body && (body.detail || body.title)) detail = body.detail || body.title;
    } catch (_) { /* not JSON */ }
    return detail;
  }

  function render(status) {
    st.status = status;
    st.seq = status.seq;
    $('#title').textContent = status.title || 'replicaflow';
    $('#window').textContent = fmtNum(status.window_seconds);
    $('#history').textContent = fmtNum(status.history_seconds / 60);
    const main = $('#services');
    const names = new Set();
    for (const svc of status.services) {
      names.add(svc.name);
      merge(svc, status.history_seconds);
      let card = st.cards.get(svc.name);
      if (!card) {
        card = newCard(svc.name);
        st.cards.set(svc.name, card);
      }
      main.appendChild(card); // keeps the server's order
      fill(card, svc, status);
    }
    for (const [name, card] of st.cards) {
      if (!names.has(name)) {
        card.remove();
        st.cards.delete(name);
        st.series.delete(name);
      }
    }
    $('#empty').hidden = status.services.length > 0;
  }

  // merge adds a service's new history points to what the page holds.
  function merge(svc, historySeconds) {
    let s = st.series.get(svc.name);
    if (!s || s.id !== svc.service_id) {
      s = { id: svc.service_id, points: [] };
      st.series.set(svc.name, s);
    }
    const last = s.points.length ? s.points[s.points.length - 1].seq : 0;
    for (const p of svc.history) if (p.seq > last) s.points.push(p);
    if (s.points.length) {
      const from = s.points[s.points.length - 1].t - historySeconds * 1000;
      let drop = 0;
      while (drop < s.points.length && s.points[drop].t < from) drop++;
      if (drop) s.points.splice(0, drop);
    }
  }

  function newCard(name) {
    const card = $('#card').content.firstElementChild.cloneNode(true);
    card.dataset.service = name;
    for (const btn of card.querySelectorAll('[data-action]')) {
      btn.addEventListener('click', () => act(card, btn.dataset.action));
    }
    return card;
  }

  function field(card, name) { return card.querySelector('[data-field="' + name + '"]'); }
  function set(card, name, text) {
    const el = field(card, name);
    if (el.textContent !== String(text)) el.textContent = text;
  }

  function fill(card, svc, status) {
    const r = svc.replicas;
    set(card, 'name', svc.name);
    set(card, 'route', svc.base_route);
    const box = field(card, 'state-box');
    box.dataset.state = svc.state;
    $('.icon', box).textContent = ICONS[svc.state] || '?';
    set(card, 'state', svc.state);
    card.dataset.state = svc.state;

    set(card, 'running', r.running);
    set(card, 'pending', r.pending);
    set(card, 'desired', r.desired);
    set(card, 'min', r.min);
    set(card, 'max', r.max);
    set(card, 'autoscaler', r.autoscaler ? 'autoscaled' : 'fixed');
    set(card, 'in_flight', r.in_flight);
    set(card, 'queued', r.queued);
    set(card, 'capacity', r.capacity);

    const t = svc.traffic;
    set(card, 'rps', t ? fmtNum(t.rps) : '—');
    set(card, 'p50', t && t.p50_ms != null ? fmtMs(t.p50_ms) : '—');
    set(card, 'p99', t && t.p99_ms != null ? fmtMs(t.p99_ms) : '—');
    const er = field(card, 'error_rate');
    const rate = t && t.error_rate != null ? t.error_rate : null;
    set(card, 'error_rate', rate == null ? (status.metrics ? '—' : 'no metrics') : (rate > 0 ? '⚠ ' : '') + fmtPct(rate));
    er.classList.toggle('warn-text', rate != null && rate > 0);

    const actions = $('.actions', card);
    actions.hidden = !status.admin;
    for (const btn of actions.querySelectorAll('[data-action]')) {
      if (btn.getAttribute('aria-busy') === 'true') continue;
      const allowed = btn.dataset.action === 'start' ? CAN_START : CAN_STOP;
      btn.disabled = !allowed.has(svc.state);
    }
    if (svc.error && !card.dataset.msgAction) showMsg(card, 'error', 'Error: ' + svc.error);
    else if (!svc.error && !card.dataset.msgAction) hideMsg(card);

    renderDecisions(card, svc);
    draw(card, svc, status);
  }

  function renderDecisions(card, svc) {
    const last = svc.last_decision;
    set(card, 'last', last
      ? 'Latest tick ' + new Date(last.at).toLocaleTimeString() + ': ' + verb(last) + ' (' + last.reason + ')'
      : (svc.replicas.autoscaler ? 'No decision yet.' : 'Autoscaler off: replicas held.'));
    const ol = field(card, 'decisions');
    const key = svc.decisions.map((d) => d.at).join('|');
    if (ol.dataset.key === key) return;
    ol.dataset.key = key;
    ol.replaceChildren(...svc.decisions.slice(0, 6).map((d) => {
      const li = document.createElement('li');
      const time = document.createElement('time');
      time.dateTime = d.at;
      time.textContent = new Date(d.at).toLocaleTimeString();
      const move = document.createElement('span');
      move.className = 'move';
      move.textContent = d.from + ' → ' + d.desired + (d.desired > d.from ? ' ▲' : d.desired < d.from ? ' ▼' : '');
      const reason = document.createElement('span');
      reason.className = 'reason';
      reason.textContent = d.reason;
      reason.title = 'average ongoing requests ' + fmtNum(d.average);
      li.append(time, move, reason);
      return li;
    }));
    if (!svc.decisions.length) {
      const li = document.createElement('li');
      li.className = 'small';
      li.textContent = 'No scaling changes yet.';
      ol.append(li);
    }
  }

  function verb(d) {
    if (d.desired > d.from) return 'scale up ' + d.from + ' → ' + d.desired;
    if (d.desired < d.from) return 'scale down ' + d.from + ' → ' + d.desired;
    return 'hold ' + d.desired;
  }

  // draw renders the chart of replicas against ongoing requests.
  function draw(card, svc, status) {
    const plot = field(card, 'plot');
    const w = Math.max(200, Math.round(plot.clientWidth || 600));
    const h = Math.max(100, Math.round(plot.clientHeight || 170));
    const pad = { l: 30, r: 8, t: 8, b: 18 };
    const pts = (st.series.get(svc.name) || { points: [] }).points;
    const now = pts.length ? pts[pts.length - 1].t : Date.now();
    // The chart spans the history the page has, at least 30 s and at most
    // what the server keeps, so a fresh page is not a thin strip.
    const first = pts.length ? pts[0].t : now;
    const span = Math.min(status.history_seconds * 1000, Math.max(30000, now - first));
    let top = Math.max(svc.replicas.max, 1);
    for (const p of pts) top = Math.max(top, p.in_flight + p.queued, p.running, p.desired);
    top = niceCeil(top);
    const x = (t) => pad.l + (w - pad.l - pad.r) * (1 - (now - t) / span);
    const y = (v) => pad.t + (h - pad.t - pad.b) * (1 - v / top);

    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('viewBox', '0 0 ' + w + ' ' + h);
    svg.setAttribute('role', 'img');
    const r = svc.replicas;
    svg.setAttribute('aria-label', 'Last ' + fmtSpan(span) + ': ' +
      r.running + ' replicas running now, ' + r.desired + ' desired, ' + (r.in_flight + r.queued) + ' ongoing requests.');
    for (const v of [0, top / 2, top]) {
      svg.append(el('line', { class: 'grid-line', x1: pad.l, x2: w - pad.r, y1: y(v), y2: y(v) }));
      const label = el('text', { class: 'axis-label', x: pad.l - 4, y: y(v) + 4, 'text-anchor': 'end' });
      label.textContent = fmtNum(v);
      svg.append(label);
    }
    const left = el('text', { class: 'axis-label', x: pad.l, y: h - 4 });
    left.textContent = '−' + fmtSpan(span);
    const right = el('text', { class: 'axis-label', x: w - pad.r, y: h - 4, 'text-anchor': 'end' });
    right.textContent = 'now';
    svg.append(left, right);

    if (pts.length > 1) {
      const ongoing = pts.map((p) => [x(p.t), y(p.in_flight + p.queued)]);
      const area = 'M' + ongoing[0][0] + ' ' + y(0) + ongoing.map((q) => 'L' + q[0] + ' ' + q[1]).join('') +
        'L' + ongoing[ongoing.length - 1][0] + ' ' + y(0) + 'Z';
      svg.append(el('path', { class: 's-ongoing-area', d: area }));
      svg.append(el('path', { class: 's-ongoing', d: line(ongoing) }));
      svg.append(el('path', { class: 's-desired', d: steps(pts, x, (p) => y(p.desired)) }));
      svg.append(el('path', { class: 's-running', d: steps(pts, x, (p) => y(p.running)) }));
    }
    plot.replaceChildren(svg);
  }

  function el(name, attrs) {
    const e = document.createElementNS(SVG, name);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function line(xy) { return xy.map((q, i) => (i ? 'L' : 'M') + q[0].toFixed(1) + ' ' + q[1].toFixed(1)).join(''); }
  function steps(pts, x, fy) {
    let d = '';
    pts.forEach((p, i) => {
      const px = x(p.t).toFixed(1), py = fy(p).toFixed(1);
      d += i ? 'H' + px + 'V' + py : 'M' + px + ' ' + py;
    });
    return d;
  }
  function niceCeil(v) {
    if (v <= 4) return 4;
    const mag = Math.pow(10, Math.floor(Math.log10(v)));
    for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= v) return m * mag;
    return 10 * mag;
  }

  function fmtNum(v) {
    if (v == null || !isFinite(v)) return '—';
    if (v === 0) return '0';
    if (Math.abs(v) < 10) return (Math.round(v * 10) / 10).toString();
    return Math.round(v).toString();
  }
  function fmtMs(v) {
    if (v < 1) return v.toFixed(2) + ' ms';
    if (v < 10) return v.toFixed(1) + ' ms';
    if (v < 10000) return Math.round(v) + ' ms';
    return (v / 1000).toFixed(1) + ' s';
  }
  function fmtSpan(ms) {
    const s = Math.round(ms / 1000);
    if (s < 120) return s + ' s';
    return fmtNum(s / 60) + ' min';
  }
  function fmtPct(v) { return (v * 100).toFixed(v > 0 && v < 0.1 ? 2 : 1) + '%'; }

  function showMsg(card, kind, text) {
    const msg = field(card, 'msg');
    msg.dataset.kind = kind;
    msg.textContent = text;
    msg.hidden = false;
  }
  function hideMsg(card) { field(card, 'msg').hidden = true; }

  // act asks the management API to start or stop a service.
  async function act(card, action) {
    const name = card.dataset.service;
    const admin = st.status && st.status.admin;
    if (!admin) return;
    const btn = card.querySelector('[data-action="' + action + '"]');
    btn.disabled = true;
    btn.setAttribute('aria-busy', 'true');
    card.dataset.msgAction = action;
    showMsg(card, 'ok', (action === 'stop' ? 'Stopping ' : 'Starting ') + name + '…');
    try {
      const res = await fetch(admin + '/services/' + encodeURIComponent(name) + '/' + action, {
        // JSON, as the management API requires of every change.
        method: 'POST', headers: { ...headers(), 'Content-Type': 'application/json' }, cache: 'no-store',
      });
      if (!res.ok) throw new Error(await problemText(res));
      showMsg(card, 'ok', (action === 'stop' ? 'Stopped ' : 'Started ') + name + '.');
    } catch (err) {
      showMsg(card, 'error', 'Could not ' + action + ' ' + name + ': ' + (err && err.message ? err.message : err));
    } finally {
      btn.removeAttribute('aria-busy');
      setTimeout(() => { delete card.dataset.msgAction; }, 4000);
      poll();
    }
  }

  function init() {
    const input = $('#token');
    input.value = st.token;
    if (st.token) $('#auth').open = false;
    $('#token-form').addEventListener('submit', (e) => {
      e.preventDefault();
      st.token = input.value.trim();
      if (st.token) sessionStorage.setItem(TOKEN_KEY, st.token);
      else sessionStorage.removeItem(TOKEN_KEY);
      $('#auth').open = false;
      poll();
    });
    $('#token-clear').addEventListener('click', () => {
      st.token = '';
      input.value = '';
      sessionStorage.removeItem(TOKEN_KEY);
      poll();
    });
    let resize = 0;
    window.addEventListener('resize', () => {
      clearTimeout(resize);
      resize = setTimeout(() => {
        if (!st.status) return;
        for (const svc of st.status.services) {
          const card = st.cards.get(svc.name);
          if (card) draw(card, svc, st.status);
        }
      }, 150);
    });
    poll();
  }

  init();
})();
