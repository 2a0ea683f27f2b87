import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART_DIR, REPO_ROOT } from '../../scripts/deploy/helm.ts';

/** Values whose content is free-form Kubernetes or user data: documented as one value. */
const opaque = new Set([
  'adminsecret',
  'azureIdentities',
  'mic.resources',
  'mic.podAnnotations',
  'mic.podLabels',
  'mic.nodeSelector',
  'mic.affinity',
  'mic.podDisruptionBudget',
  'nmi.resources',
  'nmi.updateStrategy',
  'nmi.podAnnotations',
  'nmi.podLabels',
  'nmi.nodeSelector',
  'nmi.affinity',
  'grafanaDashboard.labels',
]);

/** Dotted paths of every value in values.yaml, descending into maps unless they are opaque. */
function valuePaths(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || opaque.has(prefix)) {
    return [prefix];
  }
  return Object.entries(value).flatMap(([key, child]) =>
    valuePaths(child, prefix ? `${prefix}.${key}` : key),
  );
}

interface Schema {
  properties?: Record<string, Schema>;
}

function schemaHas(schema: Schema, path: string): boolean {
  let node: Schema | undefined = schema;
  for (const key of path.split('.')) node = node?.properties?.[key];
  return node !== undefined;
}

const values = parse(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<
  string,
  unknown
>;
const paths = valuePaths(values);
const doc = readFileSync(join(REPO_ROOT, 'docs/helm-values.md'), 'utf8');
const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as Schema;

describe('values.yaml', () => {
  it('has values to check', () => {
    expect(paths).toContain('mic.leaderElection.duration');
    expect(paths).toContain('nmi.metadataHeaderRequired');
  });

  it.each(paths)('documents %s in docs/helm-values.md', (path) => {
    expect(doc).toContain(`\`${path}\``);
  });

  it.each(paths)('declares %s in values.schema.json', (path) => {
    expect(schemaHas(schema, path)).toBe(true);
  });
});
