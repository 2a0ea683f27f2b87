// Keeps the chart and the static manifests generated from their sources, so they never drift:
//   1. copies deploy/crds/*.yaml (generated from core by `pnpm gen:crds`) into the chart's crds/;
//   2. copies deploy/rbac/*.yaml (the least-privilege roles the conformance tier proves) into the
//      chart's files/rbac/, from which its ClusterRole and Role templates take their rules;
//   3. renders the chart with `helm template` into deploy/manifests/ (standard and managed mode).
//
// Usage: node scripts/deploy/render-manifests.ts [--check]
//   --check writes nothing and exits 1, naming each file, when anything is out of date.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CHART_DIR, REPO_ROOT, pinnedKubeVersion, runHelm } from './helm.ts';

/** One static manifest: its file under deploy/manifests and how it is rendered. */
export interface ManifestVariant {
  readonly file: string;
  readonly releaseName: string;
  readonly namespace: string;
  /** Values files relative to the chart directory. */
  readonly valuesFiles: readonly string[];
  readonly description: string;
}

/**
 * The static manifests, both in `kube-system` as the AKS add-on installs it (the Go original's
 * standard-mode manifest used `default`; kube-system also keeps MIC reachable on clusters with limited
 * egress, and its release name gives the service accounts the conformance tier binds).
 */
export const MANIFEST_VARIANTS: readonly ManifestVariant[] = [
  {
    file: 'deploy/manifests/standard.yaml',
    releaseName: 'pod-identity',
    namespace: 'kube-system',
    valuesFiles: [],
    description: 'standard mode (MIC and NMI) in namespace kube-system',
  },
  {
    file: 'deploy/manifests/managed.yaml',
    releaseName: 'pod-identity',
    namespace: 'kube-system',
    valuesFiles: ['ci/managed-values.yaml'],
    description: 'managed mode (NMI only, namespaced) in namespace kube-system',
  },
];

/** A file the script owns, with the content it should have. */
export interface GeneratedFile {
  readonly path: string;
  readonly content: string;
}

const CRD_SOURCE_DIR = join(REPO_ROOT, 'deploy/crds');
const RBAC_SOURCE_DIR = join(REPO_ROOT, 'deploy/rbac');
/** The roles the chart's templates read (templates/rbac.yaml). */
const REQUIRED_ROLES = ['mic-clusterrole.yaml', 'mic-role.yaml', 'nmi-clusterrole.yaml'];

function yamlFilesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith('.yaml') || name.endsWith('.yml'))
    .sort();
}

/** The chart's copies of deploy/crds and deploy/rbac, byte for byte. */
export function chartInputs(): GeneratedFile[] {
  const crds = yamlFilesIn(CRD_SOURCE_DIR);
  if (crds.length === 0) {
    throw new Error(`no CRD YAML in ${relative(REPO_ROOT, CRD_SOURCE_DIR)}: run pnpm gen:crds`);
  }
  const files = crds.map((name) => ({
    path: join(CHART_DIR, 'crds', name),
    content: readFileSync(join(CRD_SOURCE_DIR, name), 'utf8'),
  }));
  const roles = yamlFilesIn(RBAC_SOURCE_DIR);
  for (const name of REQUIRED_ROLES) {
    if (!roles.includes(name)) throw new Error(`deploy/rbac/${name} is missing`);
  }
  for (const name of roles) {
    files.push({
      path: join(CHART_DIR, 'files/rbac', name),
      content: readFileSync(join(RBAC_SOURCE_DIR, name), 'utf8'),
    });
  }
  return files;
}

/** Renders one static manifest with helm from the chart as it is on disk. */
export async function renderVariant(
  variant: ManifestVariant,
  signal?: AbortSignal,
): Promise<GeneratedFile> {
  const args = [
    'template',
    variant.releaseName,
    CHART_DIR,
    '--namespace',
    variant.namespace,
    '--include-crds',
    '--kube-version',
    pinnedKubeVersion(),
    ...variant.valuesFiles.flatMap((file) => ['--values', join(CHART_DIR, file)]),
  ];
  const result = await runHelm(args, signal);
  if (result.code !== 0) {
    throw new Error(`helm template for ${variant.file} failed:\n${result.stderr}`);
  }
  const header = [
    `# pod-identity: ${variant.description}.`,
    '# Generated from deploy/charts/pod-identity by scripts/deploy/render-manifests.ts',
    `# (helm template ${variant.releaseName} --namespace ${variant.namespace} --include-crds --kube-version ${pinnedKubeVersion()}${variant.valuesFiles.map((f) => ` -f ${f}`).join('')}).`,
    '# Do not edit: change the chart and run `pnpm gen:manifests`.',
  ].join('\n');
  return { path: join(REPO_ROOT, variant.file), content: `${header}\n${result.stdout}` };
}

/** Files that differ from what they should be (missing files included), by repository path. */
export function staleFiles(files: readonly GeneratedFile[]): string[] {
  return files
    .filter((file) => !existsSync(file.path) || readFileSync(file.path, 'utf8') !== file.content)
    .map((file) => relative(REPO_ROOT, file.path));
}

function write(files: readonly GeneratedFile[]): void {
  for (const file of files) {
    mkdirSync(join(file.path, '..'), { recursive: true });
    writeFileSync(file.path, file.content);
  }
}

async function main(check: boolean): Promise<number> {
  const inputs = chartInputs();
  if (check) {
    const stale = staleFiles(inputs);
    // The manifests are rendered from the chart on disk; with stale inputs that render means nothing.
    if (stale.length === 0) {
      const manifests = await Promise.all(MANIFEST_VARIANTS.map((v) => renderVariant(v)));
      stale.push(...staleFiles(manifests));
    }
    if (stale.length > 0) {
      console.error(`out of date (run pnpm gen:manifests):\n  ${stale.join('\n  ')}`);
      return 1;
    }
    console.log('chart inputs and deploy/manifests are up to date');
    return 0;
  }
  // CRDs and roles removed from their sources must leave the chart too.
  rmSync(join(CHART_DIR, 'crds'), { recursive: true, force: true });
  rmSync(join(CHART_DIR, 'files/rbac'), { recursive: true, force: true });
  write(inputs);
  const manifests = await Promise.all(MANIFEST_VARIANTS.map((v) => renderVariant(v)));
  write(manifests);
  for (const file of [...inputs, ...manifests])
    console.log(`wrote ${relative(REPO_ROOT, file.path)}`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const unknown = process.argv.slice(2).filter((arg) => arg !== '--check');
  if (unknown.length > 0) {
    console.error(`unknown argument ${unknown.join(' ')}; usage: render-manifests.ts [--check]`);
    process.exitCode = 2;
  } else {
    process.exitCode = await main(process.argv.includes('--check'));
  }
}
