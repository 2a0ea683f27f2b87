// SVG charts of bench/peers, drawn from the results alone (no library): NMI throughput per setting,
// NMI latency distributions, MIC latency per pod.
import { spread } from './measured-process.ts';
import type { MicPeerResults } from './mic-peers.ts';
import type { NmiPeerResults } from './nmi-peers.ts';

const COLOURS: Record<string, string> = { go: '#00acd7', ours: '#d9480f', bare: '#868e96' };
const LABELS: Record<string, string> = {
  go: 'Go original',
  ours: 'this project',
  bare: 'bare node:http',
};
const W = 720;
const H = 360;
const M = { left: 70, right: 150, top: 40, bottom: 60 };

const esc = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const svg = (title: string, body: string[]): string =>
  [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${String(W)}" height="${String(H)}" viewBox="0 0 ${String(W)} ${String(H)}" font-family="sans-serif" font-size="12">`,
    `<rect width="${String(W)}" height="${String(H)}" fill="#fff"/>`,
    `<text x="${String(W / 2)}" y="22" text-anchor="middle" font-size="14" font-weight="bold">${esc(title)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');

/** A log-10 axis over [lo, hi] mapped to [a, b]. */
function logScale(lo: number, hi: number, a: number, b: number): (v: number) => number {
  const l0 = Math.log10(lo);
  const l1 = Math.log10(hi);
  return (v) => a + ((Math.log10(Math.max(v, lo)) - l0) / (l1 - l0)) * (b - a);
}

function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e += 1)
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v >= lo && v <= hi) ticks.push(v);
    }
  return ticks;
}

function legend(names: readonly string[]): string[] {
  return names.map(
    (name, i) =>
      `<rect x="${String(W - M.right + 15)}" y="${String(M.top + 10 + i * 20)}" width="12" height="12" fill="${COLOURS[name] ?? '#000'}"/><text x="${String(W - M.right + 32)}" y="${String(M.top + 21 + i * 20)}">${esc(LABELS[name] ?? name)}</text>`,
  );
}

function yAxis(
  ticks: readonly number[],
  y: (v: number) => number,
  label: (v: number) => string,
  title: string,
): string[] {
  return [
    ...ticks.map(
      (t) =>
        `<line x1="${String(M.left)}" x2="${String(W - M.right)}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}" stroke="#e9ecef"/><text x="${String(M.left - 6)}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${label(t)}</text>`,
    ),
    `<text transform="translate(16 ${String((M.top + H - M.bottom) / 2)}) rotate(-90)" text-anchor="middle">${esc(title)}</text>`,
  ];
}

const human = (v: number): string => (v >= 1000 ? `${String(v / 1000)}k` : String(v));

/** Bars of median requests/s (log scale), per setting and implementation. */
export function throughputChart(nmi: NmiPeerResults): string {
  const groups: { label: string; kind: string; c: string }[] = [
    { label: 'same token, 1 conn', kind: 'hit', c: '1' },
    { label: 'same token, 16', kind: 'hit', c: '16' },
    { label: 'same token, 64', kind: 'hit', c: '64' },
    { label: 'miss, 1 conn', kind: 'miss', c: '1' },
    { label: 'miss, 16', kind: 'miss', c: '16' },
  ];
  const names = ['go', 'ours', 'bare'];
  const values = groups
    .flatMap((g) => names.map((n) => spread(nmi.load[g.kind]?.[g.c]?.[n]?.rps ?? []).median))
    .filter(Number.isFinite);
  const lo = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...values))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const y = logScale(lo, hi, H - M.bottom, M.top);
  const band = (W - M.left - M.right) / groups.length;
  const bar = band / (names.length + 1);
  const body = yAxis(logTicks(lo, hi), y, human, 'requests/s (log scale), median of rounds');
  groups.forEach((g, gi) => {
    names.forEach((n, ni) => {
      const series = nmi.load[g.kind]?.[g.c]?.[n];
      if (series === undefined) return;
      const s = spread(series.rps);
      const x = M.left + gi * band + bar / 2 + ni * bar;
      body.push(
        `<rect x="${x.toFixed(1)}" y="${y(s.median).toFixed(1)}" width="${(bar - 2).toFixed(1)}" height="${(H - M.bottom - y(s.median)).toFixed(1)}" fill="${COLOURS[n] ?? '#000'}"><title>${esc(`${LABELS[n] ?? n}, ${g.label}: ${Math.round(s.median).toLocaleString('en-US')} req/s (${Math.round(s.min).toLocaleString('en-US')}–${Math.round(s.max).toLocaleString('en-US')})`)}</title></rect>`,
        `<line x1="${(x + bar / 2 - 1).toFixed(1)}" x2="${(x + bar / 2 - 1).toFixed(1)}" y1="${y(s.min).toFixed(1)}" y2="${y(s.max).toFixed(1)}" stroke="#212529"/>`,
      );
    });
    body.push(
      `<text x="${(M.left + gi * band + band / 2).toFixed(1)}" y="${String(H - M.bottom + 18)}" text-anchor="middle">${esc(g.label)}</text>`,
    );
  });
  return svg('NMI throughput (bars: median, lines: min–max over rounds)', [
    ...body,
    ...legend(names),
  ]);
}

/** Latency percentile curves (log scale) at 1 and 16 connections, same token. */
export function latencyChart(nmi: NmiPeerResults): string {
  const names = ['go', 'ours', 'bare'];
  const settings = [
    { c: '1', dash: '4 3' },
    { c: '16', dash: '' },
  ];
  const points = (p: Record<string, number>): [number, number][] =>
    Object.entries(p)
      .map(([k, v]) => [Number(k), v] as [number, number])
      .filter(([, v]) => v > 0)
      .sort((a, b) => a[0] - b[0]);
  const all = settings.flatMap((s) =>
    names.flatMap((n) => points(nmi.load.hit?.[s.c]?.[n]?.percentilesUs ?? {}).map(([, v]) => v)),
  );
  const lo = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...all))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all)));
  const y = logScale(lo, hi, H - M.bottom, M.top);
  // x: percentile on a "nines" axis, so the tail is readable.
  const nines = (p: number): number => -Math.log10(1 - Math.min(p, 99.9) / 100);
  const x = (p: number): number => M.left + (nines(p) / nines(99.9)) * (W - M.left - M.right);
  const body = yAxis(
    logTicks(lo, hi),
    y,
    (v) => (v >= 1000 ? `${String(v / 1000)} ms` : `${String(v)} µs`),
    'latency (log scale)',
  );
  for (const p of [10, 50, 90, 99, 99.9])
    body.push(
      `<text x="${x(p).toFixed(1)}" y="${String(H - M.bottom + 18)}" text-anchor="middle">p${String(p)}</text>`,
    );
  body.push(
    `<text x="${String((M.left + W - M.right) / 2)}" y="${String(H - 14)}" text-anchor="middle">percentile (same token; dashed: 1 connection, solid: 16 connections, saturated)</text>`,
  );
  for (const s of settings)
    for (const n of names) {
      const pts = points(nmi.load.hit?.[s.c]?.[n]?.percentilesUs ?? {});
      if (pts.length === 0) continue;
      body.push(
        `<polyline fill="none" stroke="${COLOURS[n] ?? '#000'}" stroke-width="2" ${s.dash === '' ? '' : `stroke-dasharray="${s.dash}" `}points="${pts.map(([p, v]) => `${x(p).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`,
      );
    }
  return svg('NMI latency distribution (median-throughput round)', [...body, ...legend(names)]);
}

/** Each single pod's bound → Assigned latency, per implementation and client QPS, all rounds. */
export function micLatencyChart(mic: MicPeerResults): string {
  const names = ['go', 'ours'];
  const all = mic.runs.flatMap((r) => r.singlePodMs).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...all))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all)));
  const y = logScale(lo, hi, H - M.bottom, M.top);
  const pods = Math.max(...mic.runs.map((r) => r.singlePodMs.length));
  const half = (W - M.left - M.right) / 2;
  const x = (qpsIndex: number, pod: number): number =>
    M.left + qpsIndex * half + ((pod + 0.5) / pods) * (half - 10);
  const body = yAxis(logTicks(lo, hi), y, (v) => `${String(v)} ms`, 'bound → Assigned (log scale)');
  ['client QPS unlimited', 'default client QPS (5)'].forEach((label, qi) => {
    body.push(
      `<text x="${(M.left + qi * half + half / 2).toFixed(1)}" y="${String(H - M.bottom + 18)}" text-anchor="middle">${esc(label)}: pods 1–${String(pods)}, one after another</text>`,
    );
  });
  for (const run of mic.runs) {
    const qi = run.qps === 'unlimited' ? 0 : 1;
    const colour = COLOURS[run.implementation] ?? '#000';
    body.push(
      `<polyline fill="none" stroke="${colour}" stroke-opacity="0.6" points="${run.singlePodMs.map((v, i) => `${x(qi, i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`,
      ...run.singlePodMs.map(
        (v, i) =>
          `<circle cx="${x(qi, i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${colour}"><title>${esc(`${LABELS[run.implementation] ?? ''} pod ${String(i + 1)}: ${v.toFixed(1)} ms`)}</title></circle>`,
      ),
    );
  }
  return svg('MIC: each single pod bound → Assigned (every round)', [...body, ...legend(names)]);
}
