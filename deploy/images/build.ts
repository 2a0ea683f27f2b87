// `pnpm images:build`: builds the mic, nmi and demo images with no Docker engine and no registry, as
// OCI archives under deploy/images/out/ (never committed), with buildah (Debian's package; vfs storage,
// run as root). Each image is what its Dockerfile's last stage declares (deploy/docker/<name>.Dockerfile,
// read by dockerfile.ts), assembled from the same two scripts the Dockerfile runs:
//   1. rootfs.sh: Debian's libraries from the package lists the Dockerfile names (cached under
//      ~/.cache/pod-identity/images/rootfs, keyed by the lists and the script);
//   2. stage-app.ts: Node from the repository's `node` devDependency and the bundled program.
// Layers, bottom up: Debian base, Node, NMI's iptables packages (nmi only), the program. The first
// three are kept as images in a buildah store under the same cache, keyed by their content, so a
// rebuild only redoes the program layer.
//
//   pnpm images:build [--only mic,nmi] [--repository ghcr.io/pod-identity] [--out <dir>]
//
// Environment: POD_IDENTITY_CACHE (cache root, default ~/.cache/pod-identity).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBuilt } from '../../scripts/ensure-built.ts';
import {
  COMPONENTS,
  REPO_ROOT,
  component,
  componentManifest,
  type ImageComponent,
} from './components.ts';
import {
  execForm,
  finalStage,
  keyValues,
  readDockerfile,
  rootfsLists,
  stagedComponent,
  substitute,
  type Dockerfile,
} from './dockerfile.ts';
import { IMAGE_NODE, stageApp } from './stage-app.ts';

/** Where `images.json` and the archives go unless `--out` says otherwise. */
export const DEFAULT_OUT = join(REPO_ROOT, 'deploy/images/out');
/** Registry path of the images unless `--repository` says otherwise (the chart's default). */
export const DEFAULT_REPOSITORY = 'ghcr.io/pod-identity';

/** `<repository>/<name>:<version>`, as the chart composes its image references. */
export function imageReference(repository: string, name: string, version: string): string {
  return `${repository}/${name}:${version}`;
}

/** One built image, as recorded in `<out>/images.json`. */
export interface BuiltImage {
  readonly name: string;
  readonly reference: string;
  /** The OCI archive, relative to the out directory. */
  readonly archive: string;
  /** Bytes of the files in the image (what it takes unpacked). */
  readonly uncompressedBytes: number;
  /** Bytes of the Node binary among them. */
  readonly nodeBytes: number;
  /** Bytes of the archive (compressed layers). */
  readonly archiveBytes: number;
  /** Debian packages in it, `name version`. */
  readonly packages: readonly string[];
}

const CACHE = join(
  process.env.POD_IDENTITY_CACHE ?? join(homedir(), '.cache/pod-identity'),
  'images',
);
const ROOTFS_SH = join(REPO_ROOT, 'deploy/images/rootfs.sh');
const STORE = [
  '--root',
  join(CACHE, 'buildah/storage'),
  '--runroot',
  join(CACHE, 'buildah/run'),
  '--storage-driver',
  'vfs',
];

function log(message: string): void {
  process.stdout.write(`[images ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function buildah(args: readonly string[], quiet = false): string {
  return execFileSync('buildah', [...STORE, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', quiet ? 'ignore' : 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  }).trim();
}

function sha256(...parts: readonly (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}

/** Bytes of the regular files under `dir` (each inode once), not following symlinks. */
export function treeBytes(dir: string): number {
  const seen = new Set<number>();
  let total = 0;
  const walk = (path: string): void => {
    const stat = lstatSync(path);
    if (stat.isDirectory()) {
      for (const entry of readdirSync(path)) walk(join(path, entry));
    } else if (stat.isFile() && !seen.has(stat.ino)) {
      seen.add(stat.ino);
      total += stat.size;
    }
  };
  walk(dir);
  return total;
}

/** A cached root filesystem from package lists: its directory and the packages it holds. */
interface Rootfs {
  readonly dir: string;
  readonly packages: readonly string[];
}

function packageList(name: string): string {
  return join(REPO_ROOT, 'deploy/images', name);
}

/**
 * The root filesystem of `lists` without `without`'s packages, from the cache or built by rootfs.sh
 * (written beside its final place and renamed, so an interrupted build leaves no half tree).
 */
function ensureRootfs(lists: readonly string[], without: readonly string[]): Rootfs {
  const content = (names: readonly string[]): string[] =>
    names.map((name) => readFileSync(packageList(name), 'utf8'));
  const key = sha256(
    readFileSync(ROOTFS_SH),
    ...content(lists),
    '--without',
    ...content(without),
  ).slice(0, 16);
  const label = lists.map((list) => basename(list, '.packages')).join('+');
  const dir = join(CACHE, 'rootfs', `${label}-${key}`);
  if (!existsSync(dir)) {
    log(`building the ${label} root filesystem from Debian packages`);
    const partial = `${dir}.partial`;
    rmSync(partial, { recursive: true, force: true });
    mkdirSync(partial, { recursive: true });
    const packages = execFileSync(
      'sh',
      [
        ROOTFS_SH,
        join(partial, 'rootfs'),
        ...lists.map(packageList),
        ...(without.length > 0 ? ['--without', ...without.map(packageList)] : []),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
    );
    writeFileSync(join(partial, 'packages.txt'), packages);
    renameSync(partial, dir);
  }
  const packages = readFileSync(join(dir, 'packages.txt'), 'utf8').split('\n').filter(Boolean);
  return { dir: join(dir, 'rootfs'), packages };
}

function imageExists(reference: string): boolean {
  try {
    buildah(['inspect', '--type', 'image', '--format', '{{.FromImageID}}', reference], true);
    return true;
  } catch {
    return false;
  }
}

/** Copies `dir`'s contents into a new working container on `parent`; returns the container. */
function containerWith(parent: string, dir: string): { container: string; root: string } {
  const container = buildah(['from', '--pull=false', '--quiet', parent]);
  const root = buildah(['mount', container]);
  execFileSync('cp', ['-a', `${dir}/.`, `${root}/`]);
  return { container, root };
}

/**
 * A layer image: `parent` (or scratch) plus `dir`'s contents, named by `name` and a key of what it
 * holds, reused when the store already has it. Other tags of the same name are removed.
 */
function layerImage(
  name: string,
  key: string,
  parent: string,
  dir: string,
  timestamp: string,
): string {
  const repository = `localhost/pod-identity-layers/${name}`;
  const reference = `${repository}:${key.slice(0, 16)}`;
  if (imageExists(reference)) return reference;
  log(`making the ${name} layer`);
  const { container } = containerWith(parent, dir);
  buildah(['umount', container]);
  buildah(['commit', '--quiet', '--rm', '--timestamp', timestamp, container, reference]);
  for (const line of buildah(['images', '--format', '{{.Name}}:{{.Tag}}']).split('\n')) {
    if (line.startsWith(`${repository}:`) && line !== reference) buildah(['rmi', line]);
  }
  return reference;
}

/** The buildah config arguments of the Dockerfile's last stage; throws on what it cannot apply. */
function configArgs(file: Dockerfile, argValues: Readonly<Record<string, string>>): string[] {
  const args: string[] = [];
  const stage = finalStage(file);
  if (stage.from !== 'scratch')
    throw new Error(`${file.path}: the last stage must be FROM scratch`);
  for (const instruction of stage.instructions) {
    const value = instruction.args;
    switch (instruction.keyword) {
      case 'ARG':
        if (argValues[value] === undefined)
          throw new Error(`${file.path}: ARG ${value} has no value`);
        break;
      case 'COPY':
        if (value !== '--from=rootfs /rootfs/ /' && value !== '--from=build /out/ /')
          throw new Error(`${file.path}: COPY ${value} is not one the daemonless build makes`);
        break;
      case 'ENV':
        for (const [key, v] of keyValues(value))
          args.push('--env', `${key}=${substitute(v, argValues)}`);
        break;
      case 'LABEL':
        for (const [key, v] of keyValues(value))
          args.push('--label', `${key}=${substitute(v, argValues)}`);
        break;
      case 'WORKDIR':
        args.push('--workingdir', value);
        break;
      case 'USER':
        args.push('--user', value);
        break;
      case 'EXPOSE':
        for (const port of value.split(' ')) args.push('--port', port);
        break;
      case 'ENTRYPOINT':
        args.push('--entrypoint', JSON.stringify(execForm(file, instruction)));
        break;
      case 'CMD':
        args.push('--cmd', JSON.stringify(execForm(file, instruction)));
        break;
      default:
        throw new Error(
          `${file.path}: ${instruction.keyword} in the last stage is not supported here`,
        );
    }
  }
  return args;
}

interface BuildOptions {
  readonly components: readonly ImageComponent[];
  readonly repository: string;
  readonly out: string;
}

function gitValue(args: readonly string[], fallback: string): string {
  try {
    return execFileSync('git', args, {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return fallback;
  }
}

async function buildImage(
  c: ImageComponent,
  options: BuildOptions,
  timestamp: string,
  revision: string,
): Promise<BuiltImage> {
  const file = readDockerfile(c.name);
  if (stagedComponent(file) !== c.name)
    throw new Error(
      `${file.path}: the build stage lays out ${stagedComponent(file)}, not ${c.name}`,
    );
  const version = componentManifest(c).version;
  if (file.args.VERSION !== version)
    throw new Error(`${file.path}: ARG VERSION=${file.args.VERSION} but the package is ${version}`);
  const [baseList, ...extraLists] = rootfsLists(file);
  if (baseList !== 'base.packages')
    throw new Error(`${file.path}: the rootfs stage must start with base.packages`);

  const stage = join(options.out, '.stage', c.name);
  const sizes = await stageApp(c, stage);
  log(
    `${c.name}: bundled ${Object.entries(sizes)
      .map(([f, b]) => `${f} ${(b / 1024).toFixed(0)} KiB`)
      .join(', ')}`,
  );
  // The Node binary goes to a layer of its own, shared by the images; the rest is the program layer.
  const nodeDir = join(options.out, '.stage', `${c.name}-node`);
  rmSync(nodeDir, { recursive: true, force: true });
  mkdirSync(join(nodeDir, 'usr/local/bin'), { recursive: true });
  renameSync(join(stage, IMAGE_NODE), join(nodeDir, IMAGE_NODE));
  const nodeBytes = lstatSync(join(nodeDir, IMAGE_NODE)).size;

  const base = ensureRootfs([baseList], []);
  const packages = [...base.packages];
  let parent = layerImage(
    'base',
    sha256(base.dir, ...base.packages),
    'scratch',
    base.dir,
    timestamp,
  );
  parent = layerImage(
    'node',
    sha256(parent, readFileSync(join(nodeDir, IMAGE_NODE))),
    parent,
    nodeDir,
    timestamp,
  );
  if (extraLists.length > 0) {
    const extra = ensureRootfs([baseList, ...extraLists], [baseList]);
    packages.push(...extra.packages);
    const name = extraLists.map((list) => basename(list, '.packages')).join('+');
    parent = layerImage(
      name,
      sha256(parent, extra.dir, ...extra.packages),
      parent,
      extra.dir,
      timestamp,
    );
  }

  const reference = imageReference(options.repository, c.name, version);
  const { container, root } = containerWith(parent, stage);
  try {
    const uncompressedBytes = treeBytes(root);
    buildah(['umount', container]);
    buildah([
      'config',
      ...configArgs(file, { ...file.args, VERSION: version, REVISION: revision }),
      container,
    ]);
    const archive = `${c.name}.tar`;
    rmSync(join(options.out, archive), { force: true });
    buildah([
      'commit',
      '--quiet',
      '--format',
      'oci',
      // gzip layers, as a registry stores them: the archive's size is what a node pulls.
      '--disable-compression=false',
      '--timestamp',
      timestamp,
      container,
      `oci-archive:${join(options.out, archive)}:${reference}`,
    ]);
    const archiveBytes = lstatSync(join(options.out, archive)).size;
    return {
      name: c.name,
      reference,
      archive,
      uncompressedBytes,
      nodeBytes,
      archiveBytes,
      packages,
    };
  } finally {
    buildah(['rm', container]);
  }
}

/** Builds the images and writes `<out>/images.json`; returns what it built. */
export async function buildImages(options: BuildOptions): Promise<BuiltImage[]> {
  mkdirSync(options.out, { recursive: true });
  // The layers' file times and the images' creation time: the commit's, so a rebuild of the same
  // commit gives the same layers.
  const timestamp = gitValue(['log', '-1', '--format=%ct'], '0');
  const revision = gitValue(['rev-parse', 'HEAD'], 'unknown');
  const built: BuiltImage[] = [];
  for (const c of options.components) {
    const started = Date.now();
    const image = await buildImage(c, options, timestamp, revision);
    built.push(image);
    log(
      `${image.reference}: ${(image.uncompressedBytes / 1e6).toFixed(1)} MB unpacked ` +
        `(${((image.uncompressedBytes - image.nodeBytes) / 1e6).toFixed(1)} MB beyond Node), ` +
        `archive ${(image.archiveBytes / 1e6).toFixed(1)} MB, in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  rmSync(join(options.out, '.stage'), { recursive: true, force: true });
  const recordPath = join(options.out, 'images.json');
  const previous = existsSync(recordPath)
    ? (JSON.parse(readFileSync(recordPath, 'utf8')) as BuiltImage[])
    : [];
  const record = [...previous.filter((p) => !built.some((b) => b.name === p.name)), ...built].sort(
    (a, b) => a.name.localeCompare(b.name),
  );
  writeFileSync(recordPath, `${JSON.stringify(record, null, 2)}\n`);
  log(`wrote ${relative(REPO_ROOT, recordPath)}`);
  return built;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      repository: { type: 'string', default: DEFAULT_REPOSITORY },
      out: { type: 'string', default: DEFAULT_OUT },
    },
  });
  ensureBuilt('the images bundle the built packages');
  const components =
    values.only === undefined ? COMPONENTS : values.only.split(',').map((name) => component(name));
  await buildImages({ components, repository: values.repository, out: values.out });
}
