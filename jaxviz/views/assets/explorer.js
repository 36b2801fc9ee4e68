/* jaxviz explorer: hand-written, no dependencies, no network. MIT licence, part of jaxviz.
 * Reads the JSON payload and the per-frame surface chunks embedded in the page, inflates the
 * surfaces with the browser's DecompressionStream and draws every tile through a colour table. */
(function () {
  'use strict';
  const errors = [];
  const timing = { start: performance.now() };
  window.addEventListener('error', (e) => errors.push(String(e.message || e)));
  window.addEventListener('unhandledrejection', (e) => errors.push(String(e.reason)));

  const D = JSON.parse(document.getElementById('jv-data').textContent);
  const N = D.models, R = D.resolution, PIX = R * R, NF = D.epochs.length, E = D.metricEpochs;
  const AX = Object.keys(D.axes);
  // the task's History keys: accuracy for classification, mae for regression (D.score is the test one)
  const SCORE = D.score || 'val_accuracy', TRAIN_SCORE = SCORE.replace(/^val_/, '');
  const SHORT = TRAIN_SCORE === 'accuracy' ? 'acc' : TRAIN_SCORE;
  const FINAL = [SCORE, 'val_loss', TRAIN_SCORE, 'loss'];
  const NICE = { val_accuracy: 'test accuracy', val_loss: 'test loss', accuracy: 'train accuracy',
                 val_mae: 'test mae', mae: 'train mae',
                 loss: 'train loss', learning_rate: 'learning rate' };
  const $ = (tag, attrs, ...kids) => {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') el.className = v; else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = v; else el.setAttribute(k, v);
    }
    for (const kid of kids) if (kid != null) el.append(kid);
    return el;
  };
  const fmt = (v) => (typeof v === 'number' ? (Number.isFinite(v) ? (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3)
    ? v.toExponential(2) : String(+v.toPrecision(4))) : 'NaN') : String(v));

  /* ---------- data ---------- */
  function bytes(b64) {
    if (Uint8Array.fromBase64) return Uint8Array.fromBase64(b64);
    const bin = atob(b64), out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  const f32 = (b64) => new Float32Array(bytes(b64).buffer);
  const M = {};
  for (const m of D.metricNames) M[m] = f32(D.metrics[m]);
  const INIT = [f32(D.initial[0]), f32(D.initial[1])];
  const value = (m, i, e) => M[m][i * E + e - 1];
  const FIN = {};
  for (const m of D.metricNames) {
    FIN[m] = new Float64Array(N);
    for (let i = 0; i < N; i++) FIN[m][i] = D.diverged[i] > 0 ? NaN : value(m, i, Math.max(1, D.trained[i]));
  }
  const axisValue = (i, a) => D.axes[AX[a]][D.index[i][a]];
  const flagged = (k, e) => k > 0 && k <= e;
  const LUT = new Uint32Array(257);
  for (let k = 0; k < 257; k++) {
    const [r, g, b] = D.lut.slice(3 * k, 3 * k + 3);
    LUT[k] = (255 << 24) | (b << 16) | (g << 8) | r;
  }
  const frames = new Array(NF).fill(null);
  // Inflating is the slow part of opening a large page: it runs in two workers (both cores) when
  // the page may start them, else here. Rows were stored as differences, mod 256.
  async function decode(b64, R) {
    const stream = new Blob([bytes(b64)]).stream().pipeThrough(new DecompressionStream('deflate'));
    const a = new Uint8Array(await new Response(stream).arrayBuffer());
    for (let r = 0; r < a.length; r += R) {
      let acc = a[r];
      for (let c = r + 1, end = r + R; c < end; c++) { acc = (acc + a[c]) & 255; a[c] = acc; }
    }
    return a;
  }
  const DECODE = `${bytes.toString()}\n${decode.toString()}\n`;
  let workers = [];
  try {
    const url = URL.createObjectURL(new Blob([DECODE + `
      onmessage = async (ev) => { const a = await decode(ev.data.b64, ev.data.R); postMessage({ k: ev.data.k, a }, [a.buffer]); };`],
      { type: 'text/javascript' }));
    workers = NF > 1 ? [new Worker(url), new Worker(url)] : [];
  } catch (e) { workers = []; }
  const pending = new Map();  // frame -> what a worker was asked for
  const fallBack = () => {  // a worker that cannot run (a strict page policy): decode here instead
    workers = [];
    for (const [k, p] of pending) decode(p.b64, R).then(p.resolve);
    pending.clear();
  };
  for (const w of workers) {
    w.onmessage = (ev) => { const p = pending.get(ev.data.k); pending.delete(ev.data.k); if (p) p.resolve(ev.data.a); };
    w.onerror = fallBack;
  }
  async function inflate(k, useWorker) {
    const el = document.getElementById('jv-frame-' + k);
    const b64 = el.textContent;
    const a = useWorker && workers.length
      ? await new Promise((resolve) => { pending.set(k, { b64, resolve }); workers[k % workers.length].postMessage({ k, b64, R }); })
      : await decode(b64, R);
    frames[k] = a;
    el.textContent = '';  // the text is no longer needed
    return a;
  }

  /* ---------- state ---------- */
  const S = { frame: NF - 1, sort: null, axisFilter: {}, ranges: {}, rows: AX.length >= 2 ? AX[0] : null,
              cols: AX.length >= 2 ? AX[1] : AX[0] || null, page: 'all', tile: 0, shown: [], layout: null, drawn: 0,
              playing: false, tab: 'summary', hover: -1 };
  S.tile = N <= 8 ? 150 : N <= 32 ? 110 : N <= 128 ? 76 : N <= 512 ? 52 : N <= 1024 ? 40 : 28;
  if (AX.length >= 3) {  // rows and columns: the two non-replicate axes with the most values
    const main = AX.filter((a) => !D.replicate.includes(a)).sort((a, b) => D.axes[b].length - D.axes[a].length);
    if (main.length >= 2) { [S.rows, S.cols] = [main[0], main[1]].sort((a, b) => AX.indexOf(a) - AX.indexOf(b)); }
  }
  const epochNow = () => D.epochs[S.frame];

  function passes(i) {
    for (const [name, set] of Object.entries(S.axisFilter)) if (!set.has(D.index[i][AX.indexOf(name)])) return false;
    for (const [key, [lo, hi]] of Object.entries(S.ranges)) {
      let v;
      if (key.startsWith('axis:')) {
        const a = AX.indexOf(key.slice(5));
        v = pcPos(a, D.index[i][a]);
      } else v = FIN[key][i];
      if (!(v >= lo && v <= hi)) return false;
    }
    return true;
  }
  function order() {
    const ids = [];
    for (let i = 0; i < N; i++) if (passes(i)) ids.push(i);
    if (S.sort) {
      const f = FIN[S.sort.metric], sgn = S.sort.desc ? -1 : 1;
      ids.sort((a, b) => {
        const x = f[a], y = f[b], nx = Number.isNaN(x), ny = Number.isNaN(y);
        if (nx || ny) return nx === ny ? a - b : nx ? 1 : -1;  // NaN last either way
        return x === y ? a - b : sgn * (x - y);
      });
    } else if (AX.length) {
      const keyAxes = pageAxes().concat([S.rows, S.cols].filter((a) => a)).map((a) => AX.indexOf(a));
      ids.sort((a, b) => { for (const k of keyAxes) { const d = D.index[a][k] - D.index[b][k]; if (d) return d; } return a - b; });
    }
    return ids;
  }
  const pageAxes = () => AX.filter((a) => a !== S.rows && a !== S.cols);
  const pageKey = (i) => pageAxes().map((a) => D.index[i][AX.indexOf(a)]).join(',');
  const pageName = (i) => pageAxes().map((a) => `${a} = ${fmt(axisValue(i, AX.indexOf(a)))}`).join(', ');

  /* ---------- layout ---------- */
  function layout(ids) {
    // a tile takes Q canvas pixels a side: the surface's R, or fewer when shown smaller (less to draw)
    const Q = Math.min(R, Math.max(4, Math.round(S.tile * (window.devicePixelRatio || 1))));
    const s = S.tile / Q, width = Math.max(200, stage.clientWidth - 4) / s, PITCH = Q + Math.max(1, Math.round(Q / 16));
    const tiles = [], labels = [];
    if (S.sort || !AX.length) {
      const cols = Math.max(1, Math.floor(width / PITCH));
      ids.forEach((i, k) => tiles.push({ i, x: (k % cols) * PITCH, y: Math.floor(k / cols) * PITCH }));
      const W = Math.min(ids.length, cols) * PITCH, H = Math.ceil(ids.length / cols) * PITCH;
      return { tiles, labels, W: Math.max(W, 1), H: Math.max(H, 1), s, Q };
    }
    const panels = new Map();
    for (const i of ids) { const k = pageKey(i); if (!panels.has(k)) panels.set(k, []); panels.get(k).push(i); }
    const rowA = S.rows ? AX.indexOf(S.rows) : -1, colA = S.cols ? AX.indexOf(S.cols) : -1;
    const hw = rowA >= 0 ? Math.ceil(64 / s) : 0, th = colA >= 0 ? Math.ceil(16 / s) : 0;
    const pt = pageAxes().length ? Math.ceil(20 / s) : 0, pg = Math.ceil(18 / s);
    let x = 0, y = 0, rowH = 0, W = 0;
    for (const [key, members] of panels) {
      if (S.page !== 'all' && key !== S.page) continue;
      const rv = [...new Set(members.map((i) => (rowA >= 0 ? D.index[i][rowA] : 0)))].sort((a, b) => a - b);
      const cv = [...new Set(members.map((i) => (colA >= 0 ? D.index[i][colA] : 0)))].sort((a, b) => a - b);
      const pw = hw + cv.length * PITCH, ph = pt + th + rv.length * PITCH;
      if (x > 0 && x + pw > width) { x = 0; y += rowH + pg; rowH = 0; }
      if (pt) labels.push({ text: pageName(members[0]), x, y, w: pw, cls: 'jv-panel' });
      if (rowA >= 0 || colA >= 0) labels.push({ text: [S.rows, S.cols].filter((a) => a).join(' \\ '), x, y: y + pt, w: hw - 4 / s, right: true, cls: 'jv-corner' });
      cv.forEach((c, k) => colA >= 0 && labels.push({ text: fmt(D.axes[S.cols][c]), x: x + hw + k * PITCH, y: y + pt,
                                                      w: Q, center: true, title: `${S.cols} = ${fmt(D.axes[S.cols][c])}` }));
      rv.forEach((r, k) => rowA >= 0 && labels.push({ text: fmt(D.axes[S.rows][r]), x, y: y + pt + th + k * PITCH + Q / 2 - 7 / s,
                                                      w: hw - 4 / s, right: true, title: `${S.rows} = ${fmt(D.axes[S.rows][r])}` }));
      for (const i of members) {
        const r = rv.indexOf(rowA >= 0 ? D.index[i][rowA] : 0), c = cv.indexOf(colA >= 0 ? D.index[i][colA] : 0);
        tiles.push({ i, x: x + hw + c * PITCH, y: y + pt + th + r * PITCH });
      }
      x += pw + pg; W = Math.max(W, x - pg); rowH = Math.max(rowH, ph);
    }
    return { tiles, labels, W: Math.max(W, 1), H: Math.max(y + rowH, 1), s, Q };
  }

  /* ---------- drawing ---------- */
  let native, surf, surfCtx, image, image32, pointsCanvas, marksCanvas, labelLayer, stack, stage;
  function relayout() {
    const ids = order();
    const L = layout(ids);
    S.layout = L;
    S.shown = L.tiles.map((t) => t.i);
    S.pick = new Int32Array(L.Q * L.Q);  // tile pixel -> surface pixel (nearest; rows flipped: row 0 is the bottom)
    for (let r = 0; r < L.Q; r++) for (let c = 0; c < L.Q; c++)
      S.pick[r * L.Q + c] = (R - 1 - Math.floor((r + 0.5) * R / L.Q)) * R + Math.floor((c + 0.5) * R / L.Q);
    const W = Math.ceil(L.W), H = Math.ceil(L.H), s = L.s;
    // Tiles shown larger than their surface are scaled per tile (no blur across the gaps), from a
    // native-size canvas; smaller ones are sampled down as they are written (S.pick).
    const dpr0 = window.devicePixelRatio || 1;
    S.up = s * dpr0 > 1.01;
    native.width = W; native.height = H;
    surf.width = S.up ? Math.ceil(W * s * dpr0) : W; surf.height = S.up ? Math.ceil(H * s * dpr0) : H;
    surf.style.width = W * s + 'px'; surf.style.height = H * s + 'px';
    stack.style.width = W * s + 'px'; stack.style.height = H * s + 'px';
    image = surfCtx.createImageData(W, H);
    image32 = new Uint32Array(image.data.buffer);
    const dpr = window.devicePixelRatio || 1;
    for (const c of [pointsCanvas, marksCanvas]) {
      c.width = Math.ceil(W * s * dpr); c.height = Math.ceil(H * s * dpr);
      c.style.width = W * s + 'px'; c.style.height = H * s + 'px';
    }
    labelLayer.textContent = '';
    const frag = document.createDocumentFragment();
    for (const l of L.labels) {
      const el = $('div', { class: 'jv-label ' + (l.cls || ''), text: l.text, title: l.title || l.text });
      el.style.left = l.x * s + 'px'; el.style.top = l.y * s + 'px'; el.style.width = l.w * s + 'px';
      if (l.center) el.style.textAlign = 'center';
      if (l.right) el.style.textAlign = 'right';
      frag.append(el);
    }
    labelLayer.append(frag);
    drawPoints();
    draw();
    countEl.textContent = `${S.shown.length} of ${N} models shown`;
  }
  function draw() {
    const a = frames[S.frame];
    if (!a || !S.layout) return false;
    const L = S.layout, W = native.width, e = epochNow(), Q = L.Q, pick = S.pick;
    for (const t of L.tiles) {
      const i = t.i, base = t.y * W + t.x;
      if (flagged(D.diverged[t.i], e)) {
        const grey = LUT[256];
        for (let r = 0; r < Q; r++) image32.fill(grey, base + r * W, base + r * W + Q);
        continue;
      }
      const off = i * PIX;
      if (Q === R) {
        for (let r = 0; r < R; r++) {  // row 0 of a surface is the bottom of the tile
          const src = off + (R - 1 - r) * R, dst = base + r * W;
          for (let c = 0; c < R; c++) image32[dst + c] = LUT[a[src + c]];
        }
      } else {
        for (let r = 0, q = 0; r < Q; r++) {
          const dst = base + r * W;
          for (let c = 0; c < Q; c++, q++) image32[dst + c] = LUT[a[off + pick[q]]];
        }
      }
    }
    if (S.up) {  // each tile through its own small canvas: scaling a whole image clamps at its edges
      const k = L.s * (window.devicePixelRatio || 1);
      if (!S.one || S.one.width !== Q) {
        S.one = document.createElement('canvas'); S.one.width = S.one.height = Q;
        S.oneImage = new ImageData(Q, Q); S.one32 = new Uint32Array(S.oneImage.data.buffer);
      }
      const oneCtx = S.one.getContext('2d');
      surfCtx.imageSmoothingEnabled = true;
      for (const t of L.tiles) {
        for (let r = 0, base = t.y * W + t.x; r < Q; r++) S.one32.set(image32.subarray(base + r * W, base + r * W + Q), r * Q);
        oneCtx.putImageData(S.oneImage, 0, 0);
        surfCtx.drawImage(S.one, t.x * k, t.y * k, Q * k, Q * k);
      }
    } else surfCtx.putImageData(image, 0, 0);
    drawMarks(e);
    S.drawn = L.tiles.length;
    epochEl.textContent = `epoch ${e} / ${D.epochs[NF - 1]}`;
    return true;
  }
  function drawMarks(e) {
    const ctx = marksCanvas.getContext('2d'), dpr = window.devicePixelRatio || 1, s = S.layout.s * dpr;
    ctx.clearRect(0, 0, marksCanvas.width, marksCanvas.height);
    ctx.lineWidth = Math.max(1.5, 2 * dpr);
    for (const t of S.layout.tiles) {
      const dv = flagged(D.diverged[t.i], e), ex = flagged(D.exploded[t.i], e);
      if (!dv && !ex && t.i !== S.hover) continue;
      const x = t.x * s, y = t.y * s, w = S.layout.Q * s;
      ctx.strokeStyle = dv ? '#c0392b' : ex ? '#e67e22' : '#111';
      ctx.strokeRect(x + 1, y + 1, w - 2, w - 2);
      if (dv) { ctx.beginPath(); ctx.moveTo(x + w * .3, y + w * .3); ctx.lineTo(x + w * .7, y + w * .7);
                ctx.moveTo(x + w * .7, y + w * .3); ctx.lineTo(x + w * .3, y + w * .7); ctx.stroke(); }
      else if (ex) { ctx.fillStyle = '#e67e22'; ctx.beginPath(); ctx.moveTo(x + w - 2, y + 2); ctx.lineTo(x + w - 2, y + Math.min(14 * dpr, w / 3));
                     ctx.lineTo(x + w - Math.min(14 * dpr, w / 3), y + 2); ctx.fill(); }
    }
  }
  function pointSprite(ds, size) {
    const c = document.createElement('canvas'); c.width = c.height = size;
    const ctx = c.getContext('2d'), [x0, x1, y0, y1] = ds.extent, p = ds.points, rad = Math.max(1, size / 90);
    for (let k = 0; k < p.length; k += 4) {
      const [r, g, b] = D.classColours[p[k + 2]];
      ctx.fillStyle = `rgba(${r},${g},${b},${p[k + 3] ? 0.55 : 0.9})`;
      ctx.beginPath(); ctx.arc((p[k] - x0) / (x1 - x0) * size, (1 - (p[k + 1] - y0) / (y1 - y0)) * size, rad, 0, 7); ctx.fill();
    }
    return c;
  }
  function drawPoints() {
    const ctx = pointsCanvas.getContext('2d');
    ctx.clearRect(0, 0, pointsCanvas.width, pointsCanvas.height);
    if (S.tile < 56 || !showPoints.checked) return;
    const dpr = window.devicePixelRatio || 1, s = S.layout.s * dpr, size = Math.round(S.layout.Q * s);
    const sprites = D.datasets.map((ds) => pointSprite(ds, size));
    for (const t of S.layout.tiles) ctx.drawImage(sprites[D.dataIndex[t.i]], Math.round(t.x * s), Math.round(t.y * s));
  }
  function tileAt(ev) {
    const rect = stack.getBoundingClientRect(), s = S.layout.s;
    const x = (ev.clientX - rect.left) / s, y = (ev.clientY - rect.top) / s;
    const Q = S.layout.Q;
    for (const t of S.layout.tiles) if (x >= t.x && x < t.x + Q && y >= t.y && y < t.y + Q) return t.i;
    return -1;
  }

  /* ---------- model facts ---------- */
  function statusAt(i, e) {
    if (e === 0) return { epoch: 0, val_loss: INIT[0][i], [SCORE]: INIT[1][i] };
    const k = Math.min(e, D.trained[i]);
    const out = { epoch: k };
    for (const m of D.metricNames) out[m] = value(m, i, k);
    return out;
  }
  function describe(i, e) {
    const lines = [`<b>model ${i}</b>`];
    AX.forEach((a, k) => lines.push(`${a} = ${fmt(axisValue(i, k))}`));
    const st = statusAt(i, e);
    lines.push(`epoch ${st.epoch}: test loss ${fmt(st.val_loss)}, test ${SHORT} ${fmt(st[SCORE])}`);
    if (st.loss !== undefined) lines.push(`train loss ${fmt(st.loss)}, train ${SHORT} ${fmt(st[TRAIN_SCORE])}`);
    if (D.diverged[i] > 0) lines.push(`<span class="jv-bad">diverged at epoch ${D.diverged[i]}</span>`);
    if (D.exploded[i] > 0) lines.push(`<span class="jv-bad">exploded at epoch ${D.exploded[i]}</span>`);
    return lines.join('<br>');
  }
  const status = (i) => (D.diverged[i] > 0 ? `diverged @${D.diverged[i]}` : D.exploded[i] > 0 ? `exploded @${D.exploded[i]}` : '');

  /* ---------- epoch ---------- */
  async function setFrame(k) {
    k = Math.max(0, Math.min(NF - 1, k));
    if (!frames[k]) await decoding[k];
    S.frame = k;
    slider.value = k;
    draw();
    if (modalModel >= 0) drawModal();
  }
  function frameOf(e) {
    let best = 0;
    for (let k = 0; k < NF; k++) if (D.epochs[k] <= e) best = k;
    return best;
  }
  let playTimer = null;
  function play(on) {
    S.playing = on;
    playBtn.textContent = on ? '❚❚ pause' : '▶ play';
    clearTimeout(playTimer);
    const step = () => {
      if (!S.playing) return;
      setFrame(S.frame >= NF - 1 ? 0 : S.frame + 1).then(() => { playTimer = setTimeout(step, 1000 / 8); });
    };
    if (on) step();
  }

  /* ---------- filters ---------- */
  function changed() {
    relayout();
    renderFilters();
    clearTimeout(changed.t);
    changed.t = setTimeout(renderView, 0);  // the analysis views follow once the tiles are drawn
  }
  function renderFilters() {
    filtersEl.textContent = '';
    filtersEl.append($('div', { class: 'jv-count' }, countEl),
      $('button', { text: 'clear filters', onclick: () => { S.axisFilter = {}; S.ranges = {}; changed(); } }));
    AX.forEach((a) => {
      filtersEl.append($('h3', { text: a }));
      const chips = $('div', { class: 'jv-chips' });
      D.axes[a].forEach((v, k) => {
        const on = S.axisFilter[a] && S.axisFilter[a].has(k);
        chips.append($('button', { class: 'jv-chip' + (on ? ' jv-on' : ''), text: fmt(v), onclick: () => {
          const set = S.axisFilter[a] || new Set();
          if (set.has(k)) set.delete(k); else set.add(k);
          if (set.size) S.axisFilter[a] = set; else delete S.axisFilter[a];
          changed();
        } }));
      });
      filtersEl.append(chips);
    });
    filtersEl.append($('h3', { text: 'final metrics' }));
    for (const m of FINAL) {
      const r = S.ranges[m] || [null, null];
      const box = (k) => $('input', { type: 'number', step: 'any', placeholder: k ? 'max' : 'min',
        value: r[k] == null || !Number.isFinite(r[k]) ? '' : +r[k].toPrecision(4), onchange: (ev) => {
          const cur = S.ranges[m] ? S.ranges[m].slice() : [-Infinity, Infinity];
          cur[k] = ev.target.value === '' ? (k ? Infinity : -Infinity) : +ev.target.value;
          if (cur[0] === -Infinity && cur[1] === Infinity) delete S.ranges[m]; else S.ranges[m] = cur;
          changed();
        } });
      filtersEl.append($('div', { class: 'jv-hint', text: NICE[m] }), $('div', { class: 'jv-range' }, box(0), box(1)));
    }
  }
  function sameValue(v, w) {
    return v === w || String(v) === String(w) || (typeof v === 'number' && typeof w === 'number' && Math.abs(v - w) <= 1e-12 * Math.max(1, Math.abs(v)));
  }
  function applyFilter(spec) {
    S.axisFilter = {};  // the filter becomes exactly spec: axis values, no metric ranges or brushes
    S.ranges = {};
    for (const [a, vals] of Object.entries(spec || {})) {
      if (!AX.includes(a)) throw new Error(`filter: axis must be one of ${AX.join(', ')}. Got ${a} instead.`);
      const set = new Set();
      D.axes[a].forEach((v, k) => { if ([].concat(vals).some((w) => sameValue(v, w))) set.add(k); });
      S.axisFilter[a] = set;
    }
    changed();
  }
  function applySort(metric, desc) {
    if (metric == null) S.sort = null;
    else {
      if (!FIN[metric]) throw new Error(`sortBy: metric must be one of ${D.metricNames.join(', ')}. Got ${metric} instead.`);
      S.sort = { metric, desc: !!desc };
    }
    sortSel.value = S.sort ? S.sort.metric : '';
    sortDir.textContent = S.sort && S.sort.desc ? '↓ high first' : '↑ low first';
    changed();
  }

  /* ---------- modal ---------- */
  let modalModel = -1;
  const modal = $('div', { class: 'jv-modal', onclick: (ev) => { if (ev.target === modal) closeModal(); } });
  function openModal(i) { modalModel = i; modal.classList.add('jv-open'); drawModal(); }
  function closeModal() { modalModel = -1; modal.classList.remove('jv-open'); }
  function drawModal() {
    const i = modalModel, e = epochNow(), size = 340;
    const small = document.createElement('canvas'); small.width = small.height = R;
    const sctx = small.getContext('2d'), img = sctx.createImageData(R, R), u = new Uint32Array(img.data.buffer);
    const a = frames[S.frame], dv = flagged(D.diverged[i], e);
    for (let r = 0; r < R; r++) for (let c = 0; c < R; c++) u[r * R + c] = dv ? LUT[256] : LUT[a[i * PIX + (R - 1 - r) * R + c]];
    sctx.putImageData(img, 0, 0);
    const big = $('canvas', { width: size, height: size }), ctx = big.getContext('2d');
    ctx.imageSmoothingEnabled = true; ctx.drawImage(small, 0, 0, size, size);
    ctx.drawImage(pointSprite(D.datasets[D.dataIndex[i]], size), 0, 0);
    const card = $('div', { class: 'jv-card' },
      $('button', { class: 'jv-close', text: 'close ✕', onclick: closeModal }),
      $('h2', { text: `model ${i}: ` + AX.map((x, k) => `${x} = ${fmt(axisValue(i, k))}`).join(', ') }));
    const info = $('div', { class: 'jv-hint' }); info.innerHTML = describe(i, e);
    const curves = $('div', {}, curveSvg([i], ['loss', 'val_loss'], 'loss'), curveSvg([i], [TRAIN_SCORE, SCORE], TRAIN_SCORE));
    card.append($('div', { class: 'jv-cardbody' }, $('div', {}, big, info), curves));
    modal.textContent = ''; modal.append(card);
  }
  function curveSvg(ids, metrics, title) {
    const w = 540, h = 190, pad = 58, ns = 'http://www.w3.org/2000/svg';
    let pts = metrics.map((m) => Array.from({ length: E }, (_, k) => value(m, ids[0], k + 1)));
    let all = pts.flat().filter(Number.isFinite);
    let lo = Math.min(...all, Infinity), hi = Math.max(...all, -Infinity);
    const log = lo > 0 && hi / lo > 100;  // a loss over decades: log scale, so the early epochs still show
    if (log) {
      pts = pts.map((p) => p.map((v) => Math.log10(v)));
      all = pts.flat().filter(Number.isFinite); lo = Math.min(...all); hi = Math.max(...all);
      title += ', log scale';
    }
    const label = (v) => fmt(log ? 10 ** v : v);
    if (!all.length) { lo = 0; hi = 1; } if (hi - lo < 1e-9) { hi += 0.5; lo -= 0.5; }
    const X = (k) => pad + (k / Math.max(1, E - 1)) * (w - pad - 10), Y = (v) => h - 22 - ((v - lo) / (hi - lo)) * (h - 36);
    let body = `<text x="${pad}" y="11" font-size="11" fill="#333">${title} (solid: train, dashed: test)</text>`;
    body += `<line x1="${pad}" y1="${h - 22}" x2="${w - 10}" y2="${h - 22}" stroke="#bbb"/><text x="${w - 10}" y="${h - 6}" font-size="10" text-anchor="end" fill="#666">epoch ${E}</text><text x="${pad}" y="${h - 6}" font-size="10" fill="#666">1</text>`;
    body += `<text x="${pad - 4}" y="${Y(hi) + 4}" font-size="10" text-anchor="end" fill="#666">${label(hi)}</text><text x="${pad - 4}" y="${Y(lo)}" font-size="10" text-anchor="end" fill="#666">${label(lo)}</text>`;
    pts.forEach((p, j) => {
      const d = p.map((v, k) => (Number.isFinite(v) ? `${X(k)},${Y(v)}` : null)).filter((x) => x).join(' ');
      body += `<polyline fill="none" stroke="${j ? '#c0392b' : '#1f4e9c'}" stroke-width="1.8" ${j ? 'stroke-dasharray="5 3"' : ''} points="${d}"/>`;
    });
    const e = epochNow();
    if (e > 0) body += `<line x1="${X(e - 1)}" x2="${X(e - 1)}" y1="14" y2="${h - 22}" stroke="#888" stroke-dasharray="2 2"/>`;
    const k = D.diverged[ids[0]];
    if (k > 0) body += `<line x1="${X(k - 1)}" x2="${X(k - 1)}" y1="14" y2="${h - 22}" stroke="#c0392b"/><text x="${X(k - 1) + 3}" y="26" font-size="10" fill="#c0392b">diverged</text>`;
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('width', w); svg.setAttribute('height', h); svg.innerHTML = body;
    return svg;
  }

  /* ---------- analysis views (explorer_views.js section) ---------- */
  const VIEWS = {};
  function renderView() {
    viewEl.textContent = '';
    (VIEWS[S.tab] || (() => {}))(viewEl);
  }
  /*@VIEWS@*/  // explorer_views.js goes here when the page is written: the analysis views, in this scope

  /* ---------- page ---------- */
  const root = document.getElementById('jv-root');
  const slider = $('input', { type: 'range', min: 0, max: NF - 1, step: 1, value: NF - 1, oninput: (ev) => { play(false); setFrame(+ev.target.value); } });
  const playBtn = $('button', { text: '▶ play', onclick: () => play(!S.playing) });
  const epochEl = $('span', { class: 'jv-epoch' });
  const countEl = $('span');
  const sortSel = $('select', { onchange: (ev) => applySort(ev.target.value || null, S.sort ? S.sort.desc : /accuracy/.test(ev.target.value)) },
    $('option', { value: '', text: 'grid order' }), ...FINAL.map((m) => $('option', { value: m, text: 'final ' + NICE[m] })));
  const sortDir = $('button', { text: '↑ low first', onclick: () => S.sort && applySort(S.sort.metric, !S.sort.desc) });
  const axisSel = (cur, on) => $('select', { onchange: (ev) => on(ev.target.value || null) },
    $('option', { value: '', text: '(none)' }), ...AX.map((a) => { const o = $('option', { value: a, text: a }); if (a === cur) o.selected = true; return o; }));
  const pageSel = $('select', { onchange: (ev) => { S.page = ev.target.value; relayout(); } });
  function fillPages() {
    pageSel.textContent = '';
    pageSel.append($('option', { value: 'all', text: 'all pages' }));
    const seen = new Set();
    if (pageAxes().length) for (let i = 0; i < N; i++) { const k = pageKey(i); if (!seen.has(k)) { seen.add(k); pageSel.append($('option', { value: k, text: pageName(i) })); } }
    pageSel.disabled = !pageAxes().length; S.page = 'all';
  }
  const sizeSlider = $('input', { type: 'range', min: 16, max: 220, value: S.tile, style: 'width:110px', oninput: (ev) => { S.tile = +ev.target.value; relayout(); } });
  const showPoints = $('input', { type: 'checkbox', checked: '', onchange: () => drawPoints() });
  const filtersEl = $('aside', { class: 'jv-filters' });
  const viewEl = $('div', { class: 'jv-view' });
  const tip = $('div', { class: 'jv-tip' });
  stage = $('div', { class: 'jv-stage' });
  stack = $('div', { class: 'jv-stack' });
  surf = $('canvas', { class: 'jv-surf' }); surfCtx = surf.getContext('2d');
  native = document.createElement('canvas');
  pointsCanvas = $('canvas'); marksCanvas = $('canvas'); labelLayer = $('div', { class: 'jv-labels' });
  stack.append(surf, pointsCanvas, marksCanvas, labelLayer); stage.append(stack);
  stack.addEventListener('mousemove', (ev) => {
    const i = tileAt(ev);
    if (i !== S.hover) { S.hover = i; drawMarks(epochNow()); }
    if (i < 0) { tip.style.display = 'none'; return; }
    tip.innerHTML = describe(i, epochNow()); tip.style.display = 'block';
    tip.style.left = Math.min(ev.clientX + 14, window.innerWidth - 330) + 'px'; tip.style.top = ev.clientY + 14 + 'px';
  });
  stack.addEventListener('mouseleave', () => { tip.style.display = 'none'; S.hover = -1; drawMarks(epochNow()); });
  stack.addEventListener('click', (ev) => { const i = tileAt(ev); if (i >= 0) openModal(i); });
  document.addEventListener('keydown', (ev) => {
    if (ev.key === 'Escape') closeModal();
    const typing = /^(INPUT|SELECT|TEXTAREA)$/.test((ev.target && ev.target.tagName) || '');
    if (!typing && (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight')) {  // step through the epochs
      play(false); setFrame(S.frame + (ev.key === 'ArrowRight' ? 1 : -1)); ev.preventDefault();
    }
  });
  const fixed = Object.entries(D.fixed).map(([k, v]) => `${k}=${fmt(v)}`).join('  ');
  const legend = $('div', { class: 'jv-legend' },
    $('span', {}, $('span', { class: 'jv-swatch', style: 'background:linear-gradient(90deg,#b2182b,#f7f7f7,#2166ac)' }), 'P(class 1): red 0 → blue 1'),
    $('span', {}, $('span', { class: 'jv-swatch', style: 'border:2px solid #c0392b' }), 'diverged (loss NaN/inf)'),
    $('span', {}, $('span', { class: 'jv-swatch', style: 'border:2px solid #e67e22' }), 'exploded (outputs saturated)'),
    $('span', { text: 'hover: settings and metrics · click: enlarge with learning curves · ← →: epochs' }));
  const tabs = $('div', { class: 'jv-tabs' });
  const TABS = [['summary', 'Summary heatmap'], ['parallel', 'Parallel coordinates'], ['importance', 'Parameter importance'],
                ['curves', 'Learning curves'], ['table', 'Table']];
  for (const [key, name] of TABS) tabs.append($('button', { text: name, 'data-tab': key, class: key === S.tab ? 'jv-on' : '', onclick: (ev) => {
    S.tab = key; for (const b of tabs.children) b.classList.toggle('jv-on', b === ev.target); renderView(); } }));
  root.append(...[
    $('header', { class: 'jv-top' }, $('h1', { text: D.title }),
      $('div', { class: 'jv-group' }, playBtn, slider, epochEl),
      $('div', { class: 'jv-group' }, $('label', { text: 'rows' }), axisSel(S.rows, (a) => { S.rows = a; fillPages(); changed(); }),
        $('label', { text: 'columns' }), axisSel(S.cols, (a) => { S.cols = a; fillPages(); changed(); }),
        $('label', { text: 'page' }), pageSel),
      $('div', { class: 'jv-group' }, $('label', { text: 'sort' }), sortSel, sortDir),
      $('div', { class: 'jv-group' }, $('label', { text: 'tile' }), sizeSlider, $('label', {}, showPoints, ' points'))),
    D.thinned ? $('div', { class: 'jv-note', text: `This run is large, so the page keeps ${D.thinned} to stay small; metrics are complete. Full surfaces: run.surfaces in Python.` }) : null,
    fixed ? $('div', { class: 'jv-hint', style: 'margin:6px 14px 0', text: 'fixed: ' + fixed }) : null,
    $('div', { class: 'jv-main' }, filtersEl, $('section', { class: 'jv-tiles' }, legend, stage)),
    $('div', { class: 'jv-panels' }, tabs, viewEl), tip, modal].filter((x) => x));
  fillPages();

  /* ---------- start ---------- */
  const decoding = new Array(NF);
  decoding[NF - 1] = inflate(NF - 1);  // the frame shown first, here; the others meanwhile in the workers
  for (let k = 0; k < NF - 1; k++) decoding[k] = inflate(k, true);
  const ready = decoding[NF - 1].then(async () => {
    timing.first = performance.now();
    relayout();
    renderFilters();
    timing.drawn = performance.now();
    await Promise.all(decoding);
    timing.all = performance.now();
    for (const w of workers) w.terminate();
    setTimeout(renderView, 0);
  });
  ready.catch((e) => errors.push(String(e)));
  // resolved once the analysis view has followed a change (changed() renders it in a timer of its
  // own; timers of one delay run in the order they were set)
  const viewFollowed = () => new Promise((r) => setTimeout(r, 0));
  let resizeTimer;
  window.addEventListener('resize', () => { clearTimeout(resizeTimer); resizeTimer = setTimeout(() => S.layout && relayout(), 150); });

  window.jaxvizExplorer = {
    ready, models: N, epochs: D.epochs.slice(), errors, timing, resolution: R, thinned: D.thinned,
    setEpoch: (e) => setFrame(frameOf(e)),
    sortBy: (metric, descending = false) => { applySort(metric, descending); return viewFollowed(); },
    filter: (spec) => { applyFilter(spec); return viewFollowed(); },
    visible: () => S.shown.slice(),
    drawn: () => S.drawn,
    probability: (model, frame, i, j) => {
      const a = frames[frame];
      if (!a) return null;
      const v = a[model * PIX + i * R + j];
      return v === 255 ? NaN : v / 254;
    },
    open: (i) => openModal(i), close: () => closeModal(),
    tileRect: (i) => {  // where model i's tile is on screen (client pixels), or null if not shown
      const t = S.layout.tiles.find((u) => u.i === i);
      if (!t) return null;
      const r = stack.getBoundingClientRect(), s = S.layout.s;
      return { x: r.left + t.x * s, y: r.top + t.y * s, w: S.layout.Q * s, h: S.layout.Q * s };
    },
  };
})();
