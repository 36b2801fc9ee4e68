/* jaxviz explorer, analysis views: summary heatmap, parallel coordinates, parameter importance,
 * learning curves per group, table. Hand-written, MIT licence, part of jaxviz. Inserted into
 * explorer.js's scope (at its VIEWS mark) when the page is written; not a standalone script. */
  const VIRIDIS = ['#440154', '#482878', '#3e4989', '#31688e', '#26828e', '#1f9e89', '#35b779', '#6ece58', '#b5de2b', '#fde725'];
  function ramp(t) {  // viridis, t in [0, 1]
    if (!Number.isFinite(t)) return '#d0d0d0';
    const x = Math.max(0, Math.min(1, t)) * (VIRIDIS.length - 1), k = Math.min(VIRIDIS.length - 2, Math.floor(x)), f = x - k;
    const c = (h) => [1, 3, 5].map((o) => parseInt(h.slice(o, o + 2), 16));
    const [a, b] = [c(VIRIDIS[k]), c(VIRIDIS[k + 1])];
    return `rgb(${a.map((v, j) => Math.round(v + f * (b[j] - v))).join(',')})`;
  }
  const quantile = (sorted, q) => {
    if (!sorted.length) return NaN;
    const p = (sorted.length - 1) * q, lo = Math.floor(p), hi = Math.ceil(p);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (p - lo);
  };
  const AGG = { mean: (v) => v.reduce((a, b) => a + b, 0) / v.length, median: (v) => quantile(v, 0.5),
                min: (v) => v[0], max: (v) => v[v.length - 1] };
  const select = (options, cur, on, names) => {
    const el = $('select', { onchange: (ev) => on(ev.target.value) });
    for (const o of options) { const opt = $('option', { value: o, text: (names && names[o]) || o }); if (o === cur) opt.selected = true; el.append(opt); }
    return el;
  };
  const V = { metric: SCORE, agg: 'mean', x: null, y: null, curveMetric: 'val_loss', by: null,
              tableSort: { key: 'model', desc: false }, brushes: {} };
  {
    const main = AX.filter((a) => !D.replicate.includes(a)).sort((a, b) => D.axes[b].length - D.axes[a].length).slice(0, 2)
      .sort((a, b) => AX.indexOf(a) - AX.indexOf(b));
    V.y = main.length >= 2 ? main[0] : null; V.x = main.length ? main[main.length - 1] : AX[0] || null;
    V.by = main[0] || AX[0] || null;
  }

  VIEWS.summary = (el) => {
    if (!AX.length) { el.append($('p', { class: 'jv-hint', text: 'A single model: nothing to summarise.' })); return; }
    const rerender = () => renderView();
    el.append($('div', { class: 'jv-controls' },
      $('label', {}, 'metric ', select(FINAL, V.metric, (v) => { V.metric = v; rerender(); }, NICE)),
      $('label', {}, 'columns ', select(AX, V.x, (v) => { V.x = v; rerender(); })),
      $('label', {}, 'rows ', select(['(none)', ...AX], V.y || '(none)', (v) => { V.y = v === '(none)' ? null : v; rerender(); })),
      $('label', {}, 'aggregate ', select(Object.keys(AGG), V.agg, (v) => { V.agg = v; rerender(); })),
      $('span', { class: 'jv-hint', text: 'click a cell to show its tiles' })));
    const xa = AX.indexOf(V.x), ya = V.y ? AX.indexOf(V.y) : -1;
    const xs = D.axes[V.x], ys = V.y ? D.axes[V.y] : [null];
    const cells = ys.map(() => xs.map(() => ({ v: [], n: 0 })));
    for (let i = 0; i < N; i++) {
      const c = cells[ya >= 0 ? D.index[i][ya] : 0][D.index[i][xa]];
      c.n++; if (Number.isFinite(FIN[V.metric][i])) c.v.push(FIN[V.metric][i]);
    }
    let lo = Infinity, hi = -Infinity;
    for (const row of cells) for (const c of row) {
      c.v.sort((a, b) => a - b);
      c.val = c.v.length ? AGG[V.agg](c.v) : NaN;
      if (Number.isFinite(c.val)) { lo = Math.min(lo, c.val); hi = Math.max(hi, c.val); }
    }
    const good = /accuracy/.test(V.metric);
    const over = AX.filter((a) => a !== V.x && a !== V.y);
    const table = $('table', { class: 'jv-heat' });
    table.append($('tr', {}, $('th', { text: V.y ? `${V.y} \\ ${V.x}` : V.x }), ...xs.map((x) => $('th', { text: fmt(x) }))));
    cells.forEach((row, r) => {
      const tr = $('tr', {}, $('th', { text: V.y ? fmt(ys[r]) : '' }));
      row.forEach((c, k) => {
        const t = hi > lo ? (c.val - lo) / (hi - lo) : 0.5, tt = good ? t : 1 - t;
        const td = $('td', { title: `${c.v.length} of ${c.n} models finite; IQR ${fmt(quantile(c.v, .25))} to ${fmt(quantile(c.v, .75))}` });
        td.style.background = ramp(tt); td.style.color = tt > 0.6 ? '#111' : '#fff';
        const bad = c.n - c.v.length;
        td.append(Number.isFinite(c.val) ? fmt(+c.val.toPrecision(3)) : 'diverged');
        if (c.v.length > 1) td.append($('small', { text: `IQR ${fmt(+(quantile(c.v, .75) - quantile(c.v, .25)).toPrecision(2))}` }));
        if (bad && Number.isFinite(c.val)) td.append($('small', { text: `✕ ${bad} diverged` }));
        td.addEventListener('click', () => {
          const spec = { [V.x]: [xs[k]] }; if (V.y) spec[V.y] = [ys[r]];
          applyFilter(spec); stage.scrollIntoView({ behavior: 'smooth', block: 'start' });
        });
        tr.append(td);
      });
      table.append(tr);
    });
    el.append(table, $('p', { class: 'jv-hint', text: `final ${NICE[V.metric]}` + (over.length ? `, ${V.agg} over ${over.join(', ')} per cell` : ', one model per cell')
      + (over.length ? ` (diverged models left out and counted); small text: interquartile range over the ${over.join(', ')} replicates` : '') }));
  };

  /* parallel coordinates: one vertical axis per grid axis and final metric; drag on an axis to brush */
  const PC = AX.map((a) => 'axis:' + a).concat(FINAL);
  const pcRange = {};
  function pcPos(a, k) {  // an axis value's place in [0, 1]: log-spaced axes by log value
    const vals = D.axes[AX[a]];
    if (vals.length < 2) return 0.5;
    if (D.log[AX[a]]) { const l = vals.map((v) => Math.log10(v)); return (l[k] - Math.min(...l)) / (Math.max(...l) - Math.min(...l)); }
    return k / (vals.length - 1);
  }
  function pcValue(key, i) {
    if (key.startsWith('axis:')) { const a = AX.indexOf(key.slice(5)); return pcPos(a, D.index[i][a]); }
    const v = FIN[key][i], [lo, hi] = pcRange[key];
    return Number.isFinite(v) ? (hi > lo ? (v - lo) / (hi - lo) : 0.5) : NaN;
  }
  for (const m of FINAL) {
    const v = Array.from(FIN[m]).filter(Number.isFinite);
    pcRange[m] = v.length ? [Math.min(...v), Math.max(...v)] : [0, 1];
  }
  VIEWS.parallel = (el) => {
    const w = Math.max(600, viewEl.clientWidth - 30), h = 320, top = 28, bot = 40, left = 50;
    const step = (w - 2 * left) / Math.max(1, PC.length - 1), Y = (t) => top + (1 - t) * (h - top - bot);
    const canvas = $('canvas', { width: w, height: h, style: 'cursor:crosshair' }), ctx = canvas.getContext('2d');
    el.append($('div', { class: 'jv-hint', text: 'drag along an axis to brush (filters the tiles); click an axis to clear its brush. Red: diverged (metrics NaN, drawn at the bottom).' }), canvas);
    const shown = new Set(S.shown);
    const drawLine = (i) => {
      ctx.beginPath();
      PC.forEach((key, k) => { const t = pcValue(key, i); const y = Number.isFinite(t) ? Y(t) : h - bot + 14; k ? ctx.lineTo(left + k * step, y) : ctx.moveTo(left, y); });
      ctx.stroke();
    };
    ctx.lineWidth = 1;
    ctx.strokeStyle = 'rgba(160,160,170,0.12)';
    for (let i = 0; i < N; i++) if (!shown.has(i)) drawLine(i);
    const key0 = FINAL[0];
    for (const i of S.shown) {
      ctx.strokeStyle = D.diverged[i] > 0 ? 'rgba(192,57,43,0.5)' : D.exploded[i] > 0 ? 'rgba(230,126,34,0.6)' : ramp(pcValue(key0, i)).replace('rgb', 'rgba').replace(')', ',0.45)');
      drawLine(i);
    }
    ctx.font = '11px system-ui, sans-serif'; ctx.textAlign = 'center';
    PC.forEach((key, k) => {
      const x = left + k * step;
      ctx.strokeStyle = '#333'; ctx.lineWidth = 1; ctx.beginPath(); ctx.moveTo(x, Y(1)); ctx.lineTo(x, Y(0)); ctx.stroke();
      ctx.fillStyle = '#111'; ctx.fillText(key.startsWith('axis:') ? key.slice(5) + (D.log[key.slice(5)] ? ' (log)' : '') : NICE[key], x, 14);
      ctx.fillStyle = '#666';
      const [lo, hi] = key.startsWith('axis:') ? [D.axes[key.slice(5)][0], D.axes[key.slice(5)].slice(-1)[0]] : pcRange[key];
      ctx.fillText(fmt(hi), x, Y(1) - 3); ctx.fillText(fmt(lo), x, Y(0) + 12);
      const b = S.ranges[key];
      if (b) {
        const t = (v) => (key.startsWith('axis:') ? v : (v - pcRange[key][0]) / ((pcRange[key][1] - pcRange[key][0]) || 1));
        const y1 = Y(Math.min(1, t(b[1]))), y0 = Y(Math.max(0, t(b[0])));
        ctx.fillStyle = 'rgba(47,95,179,0.25)'; ctx.fillRect(x - 7, y1, 14, y0 - y1);
        ctx.strokeStyle = '#2f5fb3'; ctx.strokeRect(x - 7, y1, 14, y0 - y1);
      }
    });
    let drag = null;
    const at = (ev) => { const r = canvas.getBoundingClientRect(); return [ev.clientX - r.left, ev.clientY - r.top]; };
    canvas.addEventListener('mousedown', (ev) => {
      const [x, y] = at(ev), k = Math.round((x - left) / step);
      if (k < 0 || k >= PC.length || Math.abs(x - (left + k * step)) > 16) return;
      drag = { k, y0: y, y1: y };
    });
    canvas.addEventListener('mousemove', (ev) => { if (drag) { drag.y1 = at(ev)[1]; } });
    canvas.addEventListener('mouseup', () => {
      if (!drag) return;
      const key = PC[drag.k], T = (y) => Math.max(0, Math.min(1, 1 - (y - top) / (h - top - bot)));
      let [a, b] = [T(drag.y0), T(drag.y1)].sort((p, q) => p - q);
      if (a < 0.02) a = 0; if (b > 0.98) b = 1;  // a brush to the end of an axis takes the end
      drag = null;
      if (b - a < 0.01) delete S.ranges[key];
      else if (key.startsWith('axis:')) S.ranges[key] = [a - 1e-9, b + 1e-9];
      else { const [lo, hi] = pcRange[key]; S.ranges[key] = [lo + a * (hi - lo), lo + b * (hi - lo)]; }
      changed();
    });
  };

  VIEWS.importance = (el) => {
    el.append($('div', { class: 'jv-controls' },
      $('label', {}, 'metric ', select([SCORE, 'val_loss'], V.metric === 'val_loss' ? 'val_loss' : SCORE, (v) => { V.metric = v; renderView(); }, NICE))));
    const imp = D.importance[V.metric === 'val_loss' ? 'val_loss' : SCORE];
    const t = $('table', { class: 'jv-table' }, $('tr', {}, $('th', { text: 'axis' }), $('th', { text: 'Spearman correlation' }), $('th', { text: 'random-forest importance' })));
    const num = (v) => (typeof v === 'number' ? v : NaN);
    const rows = AX.slice().sort((a, b) => (num(imp[b].forest) || 0) - (num(imp[a].forest) || 0));
    for (const a of rows) {
      const c = num(imp[a].correlation), f = num(imp[a].forest);
      const bar = (v, neg) => $('span', { class: 'jv-bar' + (neg ? ' jv-neg' : ''), style: `width:${Math.round(Math.abs(v) * 160)}px` });
      t.append($('tr', {}, $('td', { text: a, style: 'text-align:left' }),
        $('td', {}, Number.isFinite(c) ? bar(c, c < 0) : '', ' ', Number.isFinite(c) ? fmt(+c.toFixed(3)) : '—'),
        $('td', {}, Number.isFinite(f) ? bar(f) : '', ' ', Number.isFinite(f) ? fmt(+f.toFixed(3)) : '—')));
    }
    el.append(t, $('p', { class: 'jv-hint', text: `How much each axis explains the final ${NICE[V.metric === 'val_loss' ? 'val_loss' : SCORE]} over the models that did not diverge: Spearman rank correlation (log value for log-spaced axes; — for a category) and scikit-learn RandomForestRegressor impurity importance (sums to 1), computed in Python when the page was written.` }));
  };

  VIEWS.curves = (el) => {
    if (!AX.length) { el.append($('p', { class: 'jv-hint', text: 'A single model: open its tile for its curves.' })); return; }
    el.append($('div', { class: 'jv-controls' },
      $('label', {}, 'metric ', select(D.metricNames, V.curveMetric, (v) => { V.curveMetric = v; renderView(); }, NICE)),
      $('label', {}, 'group by ', select(AX, V.by, (v) => { V.by = v; renderView(); })),
      $('span', { class: 'jv-hint', text: `median over the shown models of each group, band: interquartile range` })));
    const a = AX.indexOf(V.by), vals = D.axes[V.by], m = V.curveMetric;
    const groups = vals.map(() => []);
    for (const i of S.shown) groups[D.index[i][a]].push(i);
    const w = Math.max(560, viewEl.clientWidth - 200), h = 300, pad = 46;
    const bands = groups.map((ids) => Array.from({ length: E }, (_, k) => {
      const v = ids.filter((i) => k < D.trained[i]).map((i) => value(m, i, k + 1)).filter(Number.isFinite).sort((p, q) => p - q);
      return [quantile(v, .25), quantile(v, .5), quantile(v, .75)];
    }));
    const all = bands.flat(2).filter(Number.isFinite);
    let lo = all.length ? Math.min(...all) : 0, hi = all.length ? Math.max(...all) : 1;
    const log = lo > 0 && hi / lo > 30;  // losses over decades: a log axis keeps the good models apart
    const tf = log ? Math.log10 : (v) => v;
    if (log) { lo = tf(lo); hi = tf(hi); }
    if (hi - lo < 1e-9) { hi += .5; lo -= .5; }
    const X = (k) => pad + k / Math.max(1, E - 1) * (w - pad - 12), Y = (v) => h - 28 - (tf(v) - lo) / (hi - lo) * (h - 44);
    const untf = (v) => (log ? 10 ** v : v);
    const col = (k) => ramp(vals.length > 1 ? (D.log[V.by] ? pcPos(a, k) : k / (vals.length - 1)) * 0.9 : 0.4);
    let body = `<line x1="${pad}" y1="${h - 28}" x2="${w - 12}" y2="${h - 28}" stroke="#bbb"/><line x1="${pad}" y1="16" x2="${pad}" y2="${h - 28}" stroke="#bbb"/>`;
    body += `<text x="${pad - 4}" y="${Y(untf(hi)) + 4}" font-size="10" text-anchor="end">${fmt(untf(hi))}</text><text x="${pad - 4}" y="${Y(untf(lo))}" font-size="10" text-anchor="end">${fmt(untf(lo))}</text>`;
    body += `<text x="${(w + pad) / 2}" y="${h - 6}" font-size="11" text-anchor="middle">epoch (1 to ${E})</text><text x="${pad}" y="11" font-size="11">${NICE[m]}${log ? ' (log scale)' : ''}</text>`;
    bands.forEach((band, g) => {
      if (!groups[g].length) return;
      const up = [], down = [], mid = [];
      band.forEach(([q1, q2, q3], k) => { if (Number.isFinite(q2)) { up.push(`${X(k)},${Y(q3)}`); down.unshift(`${X(k)},${Y(q1)}`); mid.push(`${X(k)},${Y(q2)}`); } });
      body += `<polygon points="${up.concat(down).join(' ')}" fill="${col(g)}" opacity="0.16"/><polyline points="${mid.join(' ')}" fill="none" stroke="${col(g)}" stroke-width="2"><title>${V.by} = ${fmt(vals[g])} (${groups[g].length} models)</title></polyline>`;
    });
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('width', w); svg.setAttribute('height', h); svg.innerHTML = body;
    const key = $('div', { style: 'display:flex;flex-direction:column;gap:2px;font-size:11px;margin-left:10px' }, $('b', { text: V.by + (D.log[V.by] ? ' (log colour)' : '') }));
    const shownVals = vals.length <= 12 ? vals.map((_, k) => k) : [0, Math.floor(vals.length / 2), vals.length - 1];
    for (const k of shownVals) key.append($('span', {}, $('span', { class: 'jv-swatch', style: `background:${col(k)}` }), `${fmt(vals[k])} (${groups[k].length})`));
    if (vals.length > 12) key.append($('span', { class: 'jv-hint', text: `… ${vals.length} values, colours in between` }));
    const bad = S.shown.filter((i) => D.diverged[i] > 0).length;
    el.append($('div', { style: 'display:flex' }, svg, key));
    if (bad) el.append($('p', { class: 'jv-hint', text: `${bad} diverged model(s) contribute only their epochs before the NaN.` }));
  };

  VIEWS.table = (el) => {
    const cols = ['model', ...AX, ...FINAL, 'status'];
    const cell = (i, c) => (c === 'model' ? i : c === 'status' ? status(i) : AX.includes(c) ? axisValue(i, AX.indexOf(c)) : FIN[c][i]);
    const ids = S.shown.slice(), { key, desc } = V.tableSort;
    ids.sort((p, q) => {
      const a = cell(p, key), b = cell(q, key);
      const na = typeof a === 'number' && Number.isNaN(a), nb = typeof b === 'number' && Number.isNaN(b);
      if (na || nb) return na === nb ? p - q : na ? 1 : -1;
      const d = typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b));
      return (desc ? -d : d) || p - q;
    });
    const csv = () => {
      const esc = (v) => { const s = typeof v === 'number' ? (Number.isNaN(v) ? 'NaN' : String(v)) : String(v); return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s; };
      const text = [cols.join(','), ...ids.map((i) => cols.map((c) => esc(cell(i, c))).join(','))].join('\n') + '\n';
      const url = URL.createObjectURL(new Blob([text], { type: 'text/csv' }));
      const a = $('a', { href: url, download: 'jaxviz-models.csv' }); document.body.append(a); a.click(); a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    };
    const limit = 500;
    el.append($('div', { class: 'jv-controls' }, $('button', { text: 'export CSV', onclick: csv, id: 'jv-csv' }),
      $('span', { class: 'jv-hint', text: `${ids.length} models (the shown ones)${ids.length > limit ? `; first ${limit} listed, the CSV holds all` : ''}; click a header to sort, a row to open the model` })));
    const t = $('table', { class: 'jv-table' });
    t.append($('tr', {}, ...cols.map((c) => $('th', { text: (NICE[c] || c) + (c === key ? (desc ? ' ↓' : ' ↑') : ''), onclick: () => {
      V.tableSort = { key: c, desc: c === key ? !desc : false }; renderView(); } }))));
    for (const i of ids.slice(0, limit)) {
      const tr = $('tr', { class: D.diverged[i] > 0 ? 'jv-diverged' : D.exploded[i] > 0 ? 'jv-exploded' : '', onclick: () => openModal(i) });
      for (const c of cols) tr.append($('td', { text: fmt(cell(i, c)) }));
      t.append(tr);
    }
    el.append($('div', { class: 'jv-tablewrap' }, t));
    window.jaxvizExplorer && (window.jaxvizExplorer.csv = () => [cols.join(','), ...ids.map((i) => cols.map((c) => String(cell(i, c))).join(','))].join('\n'));
  };

