// The report of bench/peers: figures with min–max over rounds and ratios per round
// (bench/results/peers.json), the side-by-side table in docs/benchmarks.md (between the
// `peers:begin`/`peers:end` markers) and SVG charts drawn from the same results.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { spread } from './measured-process.ts';
import type { MicPeerResults } from './mic-peers.ts';
import type { NmiPeerResults } from './nmi-peers.ts';
import { latencyChart, micLatencyChart, throughputChart } from './peers-charts.ts';

/** One figure of the side-by-side table. */
export interface PeerFigure {
  name: string;
  unit: string;
  go?: Range;
  ours: Range;
  /** ours ÷ Go (or ÷ the bare server where the target says so), per round. */
  ratio?: Range;
  target?: string;
  met?: boolean;
}
interface Range {
  median: number;
  min: number;
  max: number;
}

const ROOT = join(import.meta.dirname, '..', '..');
const round = (value: number): number =>
  Math.abs(value) >= 100 ? Math.round(value) : Number(value.toPrecision(3));
const range = (values: readonly number[]): Range => {
  const s = spread(values);
  return { median: round(s.median), min: round(s.min), max: round(s.max) };
};
const ratios = (a: readonly number[], b: readonly number[]): number[] =>
  a.map((value, i) => value / (b[i] ?? NaN));
const median = (values: readonly number[]): number => spread(values).median;

function nmiFigures(nmi: NmiPeerResults): PeerFigure[] {
  const figures: PeerFigure[] = [];
  const load = (kind: string, c: number, server: string) => nmi.load[kind]?.[String(c)]?.[server];
  for (const c of [1, 16, 64]) {
    const go = load('hit', c, 'go');
    const ours = load('hit', c, 'ours');
    if (go === undefined || ours === undefined) continue;
    const ratio = range(ratios(ours.rps, go.rps));
    figures.push({
      name: `NMI token requests/s, same token, ${String(c)} connection${c === 1 ? '' : 's'}`,
      unit: 'req/s',
      go: range(go.rps),
      ours: range(ours.rps),
      ratio,
      ...(c === 16 ? { target: '≥ 10× Go', met: ratio.min >= 10 } : {}),
    });
    figures.push({
      name: `NMI latency p99, same token, ${String(c)} connection${c === 1 ? '' : 's'} (saturated)`,
      unit: 'ms',
      go: range(go.p99Us.map((v) => v / 1000)),
      ours: range(ours.p99Us.map((v) => v / 1000)),
      ratio: range(ratios(ours.p99Us, go.p99Us)),
    });
  }
  for (const c of [1, 16]) {
    const go = load('miss', c, 'go');
    const ours = load('miss', c, 'ours');
    if (go === undefined || ours === undefined) continue;
    const ratio = range(ratios(ours.rps, go.rps));
    const cpuRatio = range(ratios(ours.cpuUsPerRequest, go.cpuUsPerRequest));
    figures.push({
      name: `NMI requests/s, every request a new resource (cache miss), ${String(c)} connection${c === 1 ? '' : 's'}`,
      unit: 'req/s',
      go: range(go.rps),
      ours: range(ours.rps),
      ratio,
      ...(c === 1 ? { target: '≥ 1.0× Go', met: ratio.median >= 1 } : {}),
    });
    figures.push({
      name: `NMI CPU per request, cache miss, ${String(c)} connection${c === 1 ? '' : 's'}`,
      unit: 'µs',
      go: range(go.cpuUsPerRequest),
      ours: range(ours.cpuUsPerRequest),
      ratio: cpuRatio,
      ...(c === 1 ? { target: '≤ Go', met: cpuRatio.median <= 1 } : {}),
    });
  }
  const rss = nmi.rss;
  if (rss.go !== undefined && rss.ours !== undefined && rss.bare !== undefined) {
    // No target against Go's here: a bare node:http server alone takes about twice the Go NMI's
    // resident memory (the node binary's own pages), so NMI's own cost is read over that server.
    figures.push({
      name: 'NMI resident memory, idle (synced, one request answered)',
      unit: 'MiB',
      go: range([rss.go.idle]),
      ours: range([rss.ours.idle]),
      ratio: range([rss.ours.idle / rss.go.idle]),
    });
    figures.push({
      name: 'A bare node:http server (no NMI), idle: the floor of any Node.js daemon',
      unit: 'MiB',
      go: range([rss.go.idle]),
      ours: range([rss.bare.idle]),
      ratio: range([rss.bare.idle / rss.go.idle]),
    });
    const overBare = rss.ours.idle - rss.bare.idle;
    figures.push({
      name: `NMI resident memory over the bare node:http server (${rss.bare.idle.toFixed(0)} MiB) in the same run, idle`,
      unit: 'MiB',
      ours: range([overBare]),
      target: '≤ 25 MB',
      met: overBare * 1.048576 <= 25,
    });
    figures.push({
      name: 'NMI resident memory after all the load',
      unit: 'MiB',
      go: range([rss.go.afterLoad]),
      ours: range([rss.ours.afterLoad]),
      ratio: range([rss.ours.afterLoad / rss.go.afterLoad]),
    });
    const rounds = rss.ours.afterMissRounds;
    const growth = (rounds[rounds.length - 1] ?? NaN) - (rounds[0] ?? NaN);
    figures.push({
      name: `NMI resident memory growth from the first to the last round of unique-resource requests (${String(rounds.length)} rounds)`,
      unit: 'MiB',
      go: range([(rss.go.afterMissRounds.at(-1) ?? NaN) - (rss.go.afterMissRounds[0] ?? NaN)]),
      ours: range([growth]),
      target: 'flat',
      met: growth <= 5,
    });
  }
  const bare = nmi.fixedRate.servers.bare;
  const ours = nmi.fixedRate.servers.ours;
  if (bare !== undefined && ours !== undefined) {
    const ratio = range(ratios(ours.p99Us, bare.p99Us));
    figures.push({
      name: `NMI latency p99 at a fixed ${String(nmi.fixedRate.rate)} req/s (half the bare server's 16-connection throughput), ÷ the bare server's`,
      unit: 'ms',
      ours: range(ours.p99Us.map((v) => v / 1000)),
      ratio,
      target: '≤ 1.2× bare',
      met: ratio.median <= 1.2,
    });
  }
  return figures;
}

function micFigures(mic: MicPeerResults): PeerFigure[] {
  const figures: PeerFigure[] = [];
  const runs = (implementation: string, qps: string) =>
    mic.runs.filter((r) => r.implementation === implementation && r.qps === qps);
  const pair = (
    name: string,
    unit: string,
    qps: string,
    pick: (run: MicPeerResults['runs'][number]) => number | undefined,
    target?: { text: string; test: (ratio: Range) => boolean },
  ): void => {
    const go = runs('go', qps)
      .map(pick)
      .filter((v): v is number => v !== undefined);
    const ours = runs('ours', qps)
      .map(pick)
      .filter((v): v is number => v !== undefined);
    if (go.length === 0 || ours.length === 0) return;
    const ratio = range(ratios(ours, go));
    figures.push({
      name,
      unit,
      go: range(go),
      ours: range(ours),
      ratio,
      ...(target === undefined ? {} : { target: target.text, met: target.test(ratio) }),
    });
  };
  const atMost = (limit: number) => ({
    text: limit === 1 ? '≤ Go' : `≤ ${String(limit)}× Go`,
    test: (r: Range) => r.median <= limit,
  });
  pair(
    'MIC one pod bound → Assigned, p50 of 10 one after another, client QPS unlimited',
    'ms',
    'unlimited',
    (r) => median(r.singlePodMs),
    atMost(1),
  );
  pair(
    'MIC one pod bound → Assigned, p50 of 10 one after another, default client QPS (5)',
    'ms',
    'default',
    (r) => median(r.singlePodMs),
    atMost(1),
  );
  pair(
    'MIC 200-pod burst → first pod Assigned',
    'ms',
    'unlimited',
    (r) => r.burst?.firstAssignedMs,
    atMost(1),
  );
  pair('MIC 200-pod burst → all Assigned', 'ms', 'unlimited', (r) => r.burst?.allAssignedMs);
  pair(
    'MIC ARM PATCHes for the burst (10 scale sets)',
    'PATCH',
    'unlimited',
    (r) => r.burst?.armPatches,
  );
  pair('MIC ARM GETs for the burst', 'GET', 'unlimited', (r) => r.burst?.armGets);
  const both = (implementation: string) =>
    mic.runs.filter((r) => r.implementation === implementation);
  const healthyGo = both('go').map((r) => r.startToHealthyMs);
  const healthyOurs = both('ours').map((r) => r.startToHealthyMs);
  const healthyRatio = range(ratios(healthyOurs, healthyGo));
  figures.push({
    name: 'MIC start → healthy (Active)',
    unit: 'ms',
    go: range(healthyGo),
    ours: range(healthyOurs),
    ratio: healthyRatio,
    target: '≤ Go',
    met: healthyRatio.median <= 1,
  });
  pair('MIC peak resident memory (burst run)', 'MiB', 'unlimited', (r) => r.peakRssMiB, atMost(3));
  return figures;
}

const cell = (r: Range | undefined, digits = 3): string =>
  r === undefined
    ? ''
    : r.min === r.max
      ? fmt(r.median, digits)
      : `${fmt(r.median, digits)} (${fmt(r.min, digits)}–${fmt(r.max, digits)})`;
const fmt = (value: number, digits: number): string =>
  Number.isFinite(value)
    ? Math.abs(value) >= 1000
      ? Math.round(value).toLocaleString('en-US')
      : String(Number(value.toPrecision(digits)))
    : '—';

function table(figures: readonly PeerFigure[]): string {
  const rows = figures.map(
    (f) =>
      `| ${f.name} | ${f.unit} | ${cell(f.go)} | ${cell(f.ours)} | ${f.ratio === undefined ? '' : `${cell(f.ratio)}×`} | ${f.target === undefined ? '' : `${f.target} — **${f.met === true ? 'met' : 'not met'}**`} |`,
  );
  return [
    '| figure | unit | Go original | this project | ratio (ours ÷ Go), median (min–max) | target |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/**
 * Writes bench/results/peers.json, the charts, and the table in docs/benchmarks.md.
 * @param input - what the halves measured and the machine's load before and after
 */
export function writePeersReport(input: {
  nmi: NmiPeerResults | undefined;
  mic: MicPeerResults | undefined;
  loadBefore: number[];
  loadAfter: number[];
}): void {
  const figures = [
    ...(input.nmi === undefined ? [] : nmiFigures(input.nmi)),
    ...(input.mic === undefined ? [] : micFigures(input.mic)),
  ];
  const machine = {
    cpus: cpus().length,
    model: cpus()[0]?.model ?? '',
    memoryGiB: round(totalmem() / 2 ** 30),
    node: process.version,
    loadBefore: input.loadBefore.map(round),
    loadAfter: input.loadAfter.map(round),
    date: new Date().toISOString(),
  };
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench/results/peers.json'),
    `${JSON.stringify({ machine, figures, nmi: input.nmi, mic: input.mic }, null, 2)}\n`,
  );
  const charts = join(ROOT, 'docs/benchmarks');
  mkdirSync(charts, { recursive: true });
  if (input.nmi !== undefined) {
    writeFileSync(join(charts, 'peers-nmi-throughput.svg'), throughputChart(input.nmi));
    writeFileSync(join(charts, 'peers-nmi-latency.svg'), latencyChart(input.nmi));
  }
  if (input.mic !== undefined)
    writeFileSync(join(charts, 'peers-mic-latency.svg'), micLatencyChart(input.mic));
  for (const f of figures)
    console.log(
      `${f.name}: Go ${cell(f.go)} / ours ${cell(f.ours)} ${f.unit}${f.ratio === undefined ? '' : `, ratio ${cell(f.ratio)}`}${f.target === undefined ? '' : ` (target ${f.target}: ${f.met === true ? 'met' : 'NOT met'})`}`,
    );

  const docs = join(ROOT, 'docs/benchmarks.md');
  const text = readFileSync(docs, 'utf8');
  const begin = '<!-- peers:begin (written by pnpm bench peers) -->';
  const end = '<!-- peers:end -->';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < i) return;
  const body = [
    begin,
    '',
    `Run of ${machine.date.slice(0, 16).replace('T', ' ')} UTC: ${String(machine.cpus)} × ${machine.model}, Node ${machine.node}; 1-minute load average ${String(machine.loadBefore[0])} before, ${String(machine.loadAfter[0])} after. ${input.nmi === undefined ? '' : `NMI: ${String(input.nmi.rounds)} rounds of ${String(input.nmi.durationS)} s per setting.`} ${input.mic === undefined ? '' : `MIC: ${String(input.mic.rounds)} rounds per setting.`}`,
    '',
    table(figures),
    '',
    ...(input.nmi === undefined
      ? []
      : [
          '![NMI throughput](benchmarks/peers-nmi-throughput.svg)',
          '',
          '![NMI latency distribution](benchmarks/peers-nmi-latency.svg)',
          '',
        ]),
    ...(input.mic === undefined
      ? []
      : ['![MIC latency per pod](benchmarks/peers-mic-latency.svg)', '']),
    end,
  ].join('\n');
  writeFileSync(docs, text.slice(0, i) + body + text.slice(j + end.length));
}
