// Renders the chart with helm for the tests and parses the result into plain objects.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  CHART_DIR,
  pinnedKubeVersion,
  runHelm,
  type HelmResult,
} from '../../scripts/deploy/helm.ts';

/** A rendered Kubernetes object, loosely typed: the tests read the fields they check. */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** How to render. */
export interface RenderOptions {
  /** Values merged over values.yaml, as `--values` would. */
  readonly values?: Record<string, unknown>;
  /** Values files relative to the chart directory (for example `ci/managed-values.yaml`). */
  readonly valuesFiles?: readonly string[];
  readonly namespace?: string;
  readonly releaseName?: string;
}

/** Runs `helm <command> <chart>` with the options' values; `template` also gets the release name. */
export async function helmOnChart(
  command: 'template' | 'lint',
  options: RenderOptions = {},
  extraArgs: readonly string[] = [],
): Promise<HelmResult> {
  const dir = mkdtempSync(join(tmpdir(), 'pod-identity-chart-'));
  try {
    const args: string[] =
      command === 'template'
        ? ['template', options.releaseName ?? 'pod-identity', CHART_DIR]
        : ['lint', CHART_DIR, '--strict'];
    args.push('--namespace', options.namespace ?? 'default', '--kube-version', pinnedKubeVersion());
    for (const file of options.valuesFiles ?? []) args.push('--values', join(CHART_DIR, file));
    if (options.values) {
      // JSON is YAML: helm reads the values file as it would a hand-written one.
      const path = join(dir, 'values.yaml');
      writeFileSync(path, JSON.stringify(options.values));
      args.push('--values', path);
    }
    return await runHelm([...args, ...extraArgs]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Renders the chart (templates and CRDs) and returns the objects; throws with helm's error. */
export async function renderChart(options: RenderOptions = {}): Promise<RenderedObject[]> {
  const result = await helmOnChart('template', options, ['--include-crds']);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseManifest(result.stdout);
}

/** Renders the chart expecting helm to refuse the values; returns helm's message. */
export async function renderChartError(options: RenderOptions): Promise<string> {
  const result = await helmOnChart('template', options);
  if (result.code === 0) throw new Error('helm template accepted the values');
  return result.stderr;
}

/** Parses a multi-document YAML stream, skipping empty documents; throws on a YAML error. */
export function parseManifest(text: string): RenderedObject[] {
  const objects: RenderedObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML: ${doc.errors[0]?.message ?? ''}`);
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value as RenderedObject);
  }
  return objects;
}

/** The one object of `kind` named `name`; throws listing what there is when it is absent. */
export function find(
  objects: readonly RenderedObject[],
  kind: string,
  name: string,
): RenderedObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const present = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} among ${present}`);
  }
  return found;
}

/** A pod template's first container and pod spec, for Deployments and DaemonSets. */
export function podOf(workload: RenderedObject): { pod: PodSpec; container: ContainerSpec } {
  const spec = workload.spec as {
    template: { metadata: { labels: Record<string, string> }; spec: PodSpec };
  };
  const container = spec.template.spec.containers[0];
  if (!container) throw new Error(`${workload.kind}/${workload.metadata.name} has no container`);
  return { pod: spec.template.spec, container };
}

/** The parts of a pod spec the tests read. */
export interface PodSpec {
  containers: ContainerSpec[];
  hostNetwork?: boolean;
  dnsPolicy?: string;
  serviceAccountName?: string;
  volumes?: { name: string; hostPath?: { path: string; type?: string } }[];
  nodeSelector?: Record<string, string>;
  tolerations?: unknown[];
  affinity?: unknown;
}

/** The parts of a container the tests read. */
export interface ContainerSpec {
  name: string;
  image: string;
  args: string[];
  env?: { name: string; value?: string; valueFrom?: Record<string, Record<string, unknown>> }[];
  ports?: { name: string; containerPort: number }[];
  livenessProbe?: { httpGet: { path: string; port: string | number } };
  readinessProbe?: { httpGet: { path: string; port: string | number } };
  securityContext?: {
    runAsUser?: number;
    runAsNonRoot?: boolean;
    readOnlyRootFilesystem?: boolean;
    allowPrivilegeEscalation?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

/**
 * The release notes (templates/NOTES.txt) the options give. `helm template` never renders NOTES.txt
 * and `helm install --dry-run` needs a cluster, so this renders a copy of the chart in which the notes
 * are an ordinary template.
 */
export async function renderNotes(options: RenderOptions = {}): Promise<string> {
  const copy = mkdtempSync(join(tmpdir(), 'pod-identity-notes-'));
  try {
    cpSync(CHART_DIR, copy, { recursive: true });
    // Helm parses every rendered template as YAML: the notes become a named template whose text a
    // ConfigMap carries.
    const notes = readFileSync(join(copy, 'templates/NOTES.txt'), 'utf8');
    rmSync(join(copy, 'templates/NOTES.txt'));
    writeFileSync(join(copy, 'templates/_notes.tpl'), `{{- define "notes" -}}${notes}{{- end -}}`);
    writeFileSync(
      join(copy, 'templates/notes.yaml'),
      'kind: ConfigMap\napiVersion: v1\nmetadata: {name: notes}\ndata:\n  notes: {{ include "notes" . | toJson }}\n',
    );
    const args = ['template', options.releaseName ?? 'pod-identity', copy];
    args.push('--namespace', options.namespace ?? 'default', '--kube-version', pinnedKubeVersion());
    args.push('--show-only', 'templates/notes.yaml');
    for (const file of options.valuesFiles ?? []) args.push('--values', join(CHART_DIR, file));
    if (options.values) {
      const path = join(copy, 'test-values.yaml');
      writeFileSync(path, JSON.stringify(options.values));
      args.push('--values', path);
    }
    const result = await runHelm(args);
    if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
    const [configMap] = parseManifest(result.stdout);
    return (configMap as unknown as { data: { notes: string } }).data.notes;
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}
