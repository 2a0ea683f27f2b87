import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CHART_DIR, REPO_ROOT } from '../../scripts/deploy/helm.ts';
import {
  chartInputs,
  MANIFEST_VARIANTS,
  renderVariant,
  staleFiles,
} from '../../scripts/deploy/render-manifests.ts';
import { find, parseManifest } from './render-chart.ts';

describe('one source for what the chart ships', () => {
  it('carries exactly the CRDs of deploy/crds, byte for byte', () => {
    const sources = readdirSync(join(REPO_ROOT, 'deploy/crds')).filter((f) => f.endsWith('.yaml'));
    expect(readdirSync(join(CHART_DIR, 'crds')).sort()).toEqual(sources.sort());
    expect(staleFiles(chartInputs())).toEqual([]);
  });

  it('grants MIC and NMI exactly the rules of deploy/rbac', () => {
    const standard = parseManifest(
      readFileSync(join(REPO_ROOT, 'deploy/manifests/standard.yaml'), 'utf8'),
    );
    const shipped = [
      ['mic-clusterrole.yaml', 'ClusterRole'],
      ['mic-role.yaml', 'Role'],
      ['nmi-clusterrole.yaml', 'ClusterRole'],
    ] as const;
    for (const [file, kind] of shipped) {
      const source = parse(readFileSync(join(REPO_ROOT, 'deploy/rbac', file), 'utf8')) as {
        metadata: { labels: Record<string, string> };
        rules: unknown[];
      };
      expect(source.rules.length).toBeGreaterThan(0);
      const component = source.metadata.labels['app.kubernetes.io/component'] ?? '';
      expect(find(standard, kind, `pod-identity-${component}`).rules, file).toEqual(source.rules);
    }
  });
});

describe.each(MANIFEST_VARIANTS)('$file', (variant) => {
  it('equals a fresh render of the chart', async () => {
    const fresh = await renderVariant(variant);
    // toBe on the whole text would print both files; naming the file and the first difference is
    // what someone fixing it needs (the fix is always `pnpm gen:manifests`).
    const onDisk = readFileSync(fresh.path, 'utf8').split('\n');
    const rendered = fresh.content.split('\n');
    const line = rendered.findIndex((text, i) => onDisk[i] !== text);
    expect(
      line === -1 && onDisk.length === rendered.length ? 'same' : `differs at line ${line + 1}`,
      `${variant.file} is stale: run pnpm gen:manifests`,
    ).toBe('same');
  });

  it('is in one namespace, with every namespaced object in it', () => {
    const objects = parseManifest(readFileSync(join(REPO_ROOT, variant.file), 'utf8'));
    const clusterScoped = new Set([
      'CustomResourceDefinition',
      'ClusterRole',
      'ClusterRoleBinding',
    ]);
    for (const object of objects) {
      if (clusterScoped.has(object.kind)) continue;
      // aks-addon-exception belongs to kube-system wherever pod-identity is installed.
      const expected =
        object.metadata.name === 'aks-addon-exception' ? 'kube-system' : variant.namespace;
      expect(object.metadata.namespace, `${object.kind}/${object.metadata.name}`).toBe(expected);
    }
  });
});
