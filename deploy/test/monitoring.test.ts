// The monitoring the chart and docs offer names only metrics MIC and NMI really export: every query of
// the Grafana dashboard and of the PrometheusRule, and every metric docs/monitoring.md lists, is
// checked against the registries createMicMetrics and createNmiMetrics fill (plus prom-client's
// process metrics, which both daemons collect). ServiceMonitor, PodMonitor and PrometheusRule render
// behind their values.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMicMetrics } from '@pod-identity/mic';
import { createNmiMetrics } from '@pod-identity/nmi';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CHART_DIR, REPO_ROOT } from '../../scripts/deploy/helm.ts';
import { renderChart, type RenderedObject } from './render-chart.ts';

/** Every series name a registry can expose: histograms as _bucket, _sum and _count. */
async function seriesNames(registry: Registry): Promise<Set<string>> {
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    const base = metric.name;
    if (String(metric.type) === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${base}${suffix}`);
    else names.add(base);
  }
  return names;
}

async function exported(): Promise<{ mic: Set<string>; nmi: Set<string>; all: Set<string> }> {
  const micRegistry = new Registry();
  createMicMetrics(micRegistry);
  const nmiRegistry = new Registry();
  createNmiMetrics(nmiRegistry);
  const processRegistry = new Registry();
  collectDefaultMetrics({ register: processRegistry });
  const mic = await seriesNames(micRegistry);
  const nmi = await seriesNames(nmiRegistry);
  return { mic, nmi, all: new Set([...mic, ...nmi, ...(await seriesNames(processRegistry))]) };
}

/** The metric names a PromQL expression selects (identifiers followed by a selector, range or space). */
function metricsOf(expr: string): string[] {
  const functions = new Set([
    'sum',
    'rate',
    'increase',
    'histogram_quantile',
    'by',
    'without',
    'max',
    'min',
    'avg',
    'count',
    'absent',
    'le',
  ]);
  // Label values and matchers are dropped first: they may contain words that look like metric names.
  const stripped = expr
    .replace(/\{[^}]*\}/g, '{}')
    .replace(/"[^"]*"/g, '""')
    .replace(/\b(by|without)\s*\([^)]*\)/g, '');
  return [...stripped.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((match) => match[1] ?? '')
    .filter((word) => word.includes('_') && !functions.has(word));
}

interface Dashboard {
  panels: { title: string; targets: { expr: string }[] }[];
}

const dashboard = JSON.parse(
  readFileSync(join(CHART_DIR, 'files/grafana-dashboard.json'), 'utf8'),
) as Dashboard;

function find(objects: readonly RenderedObject[], kind: string): RenderedObject[] {
  return objects.filter((object) => object.kind === kind);
}

describe('the Grafana dashboard', () => {
  it('queries only metrics MIC or NMI export, and every metric they export', async () => {
    const { mic, nmi, all } = await exported();
    const used = new Set<string>();
    for (const panel of dashboard.panels) {
      expect(panel.targets.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets) {
        const names = metricsOf(target.expr);
        expect(names.length, `${panel.title}: ${target.expr}`).toBeGreaterThan(0);
        for (const name of names) {
          expect(all.has(name), `${panel.title}: ${name} is not exported`).toBe(true);
          used.add(name.replace(/_(bucket|sum|count)$/, ''));
        }
      }
    }
    // Every MIC and NMI metric has a panel (a histogram counts through any of its series).
    for (const name of [...mic, ...nmi]) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      expect(used.has(base) || used.has(name), `no panel shows ${name}`).toBe(true);
    }
  });

  it('is what grafanaDashboard.enabled puts in a ConfigMap for the sidecar', async () => {
    expect(find(await renderChart(), 'ConfigMap').map((c) => c.metadata.name)).not.toContain(
      'pod-identity-dashboard',
    );
    const objects = await renderChart({ values: { grafanaDashboard: { enabled: true } } });
    const configMap = find(objects, 'ConfigMap').find(
      (c) => c.metadata.name === 'pod-identity-dashboard',
    );
    expect(configMap?.metadata.labels?.grafana_dashboard).toBe('1');
    const data = (configMap as unknown as { data: Record<string, string> }).data;
    expect(JSON.parse(data['pod-identity.json'] ?? '')).toEqual(dashboard);
  });
});

describe('the alert rules', () => {
  it('render behind prometheusRule.enabled and name only exported metrics (and up)', async () => {
    expect(find(await renderChart(), 'PrometheusRule')).toEqual([]);
    const { all } = await exported();
    const objects = await renderChart({
      values: { prometheusRule: { enabled: true, labels: { release: 'prometheus' } } },
    });
    const [rule] = find(objects, 'PrometheusRule');
    expect(rule?.metadata.labels?.release).toBe('prometheus');
    const groups = (
      rule as unknown as { spec: { groups: { rules: { alert: string; expr: string }[] }[] } }
    ).spec.groups;
    const alerts = groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert).sort()).toEqual([
      'PodIdentityArmErrors',
      'PodIdentityAssignmentsSlow',
      'PodIdentityMicLeaderChurn',
      'PodIdentityNmiDown',
      'PodIdentityRecordWriteErrors',
      'PodIdentityTokenRequestsFailing',
      'PodIdentityUpstreamTokenErrors',
    ]);
    for (const alert of alerts)
      for (const name of metricsOf(alert.expr))
        expect(all.has(name), `${alert.alert}: ${name} is not exported`).toBe(true);
    const down = alerts.find((a) => a.alert === 'PodIdentityNmiDown');
    expect(down?.expr).toBe('up{job=~"default/pod-identity-nmi|pod-identity-nmi-metrics"} == 0');
  });

  it('leave out the MIC alerts in managed mode, where no MIC runs', async () => {
    const objects = await renderChart({
      values: { operationMode: 'managed', prometheusRule: { enabled: true } },
    });
    const groups = (
      find(objects, 'PrometheusRule')[0] as unknown as { spec: { groups: { name: string }[] } }
    ).spec.groups;
    expect(groups.map((g) => g.name)).toEqual(['pod-identity-nmi']);
  });

  it('are each listed in docs/monitoring.md', async () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/monitoring.md'), 'utf8');
    const objects = await renderChart({ values: { prometheusRule: { enabled: true } } });
    const groups = (
      find(objects, 'PrometheusRule')[0] as unknown as {
        spec: { groups: { rules: { alert: string }[] }[] };
      }
    ).spec.groups;
    for (const { alert } of groups.flatMap((g) => g.rules)) expect(doc).toContain(`\`${alert}\``);
  });
});

describe('docs/monitoring.md', () => {
  it('lists every metric MIC and NMI export, and no other', async () => {
    const { mic, nmi } = await exported();
    const doc = readFileSync(join(REPO_ROOT, 'docs/monitoring.md'), 'utf8');
    const bases = new Set([...mic, ...nmi].map((n) => n.replace(/_(bucket|sum|count)$/, '')));
    // Counters named *_count are their own series, not a histogram's.
    for (const name of [...mic, ...nmi])
      if (!bases.has(name.replace(/_(bucket|sum|count)$/, ''))) bases.add(name);
    const listed = new Set(
      [...doc.matchAll(/^\| `(aadpodidentity_[a-z_]+)`/gm)].map((m) => m[1] ?? ''),
    );
    for (const name of bases) {
      const isSeries = mic.has(name) || nmi.has(name);
      const histogram = mic.has(`${name}_bucket`) || nmi.has(`${name}_bucket`);
      if (isSeries || histogram) expect(listed.has(name), `${name} is not in the table`).toBe(true);
    }
    for (const name of listed)
      expect(
        mic.has(name) || nmi.has(name) || mic.has(`${name}_bucket`) || nmi.has(`${name}_bucket`),
        `${name} is listed but not exported`,
      ).toBe(true);
  });
});

describe('scrape configuration', () => {
  it('ServiceMonitor: a headless metrics Service and a monitor per daemon, only when enabled', async () => {
    const off = await renderChart();
    expect(find(off, 'ServiceMonitor')).toEqual([]);
    expect(find(off, 'Service')).toEqual([]);
    const objects = await renderChart({
      values: {
        serviceMonitor: { enabled: 'true', labels: { release: 'prometheus' }, interval: '30s' },
      },
    });
    const services = find(objects, 'Service');
    expect(services.map((s) => s.metadata.name).sort()).toEqual([
      'pod-identity-mic-metrics',
      'pod-identity-nmi-metrics',
    ]);
    const nmiService = services.find(
      (s) => s.metadata.name === 'pod-identity-nmi-metrics',
    ) as unknown as {
      spec: {
        clusterIP: string;
        selector: Record<string, string>;
        ports: { port: number; targetPort: string }[];
      };
    };
    expect(nmiService.spec.clusterIP).toBe('None');
    expect(nmiService.spec.ports).toEqual([
      { name: 'metrics', port: 9090, targetPort: 'metrics', protocol: 'TCP' },
    ]);
    const nmi = find(objects, 'DaemonSet')[0] as unknown as {
      spec: { template: { metadata: { labels: Record<string, string> } } };
    };
    for (const [key, value] of Object.entries(nmiService.spec.selector))
      expect(nmi.spec.template.metadata.labels[key], key).toBe(value);
    const monitors = find(objects, 'ServiceMonitor');
    expect(monitors).toHaveLength(2);
    for (const monitor of monitors) {
      expect(monitor.metadata.labels?.release).toBe('prometheus');
      expect((monitor as unknown as { spec: { endpoints: unknown[] } }).spec.endpoints).toEqual([
        { port: 'metrics', path: '/metrics', interval: '30s' },
      ]);
    }
  });

  it('PodMonitor and ServiceMonitor cover NMI only in managed mode', async () => {
    const objects = await renderChart({
      values: {
        operationMode: 'managed',
        serviceMonitor: { enabled: true },
        podMonitor: { enabled: true },
      },
    });
    expect(find(objects, 'ServiceMonitor').map((m) => m.metadata.name)).toEqual([
      'pod-identity-nmi',
    ]);
    expect(find(objects, 'PodMonitor').map((m) => m.metadata.name)).toEqual(['pod-identity-nmi']);
  });
});
