// Lays out what one image adds on top of its Debian base, in a directory that is copied to the image's
// root as is. Both build paths run it: the Dockerfiles' build stage and deploy/images/build.ts.
//
//   node deploy/images/stage-app.ts <mic|nmi|demo> <out>
//
// <out> gets:
//   usr/local/bin/node       the Node binary of the repository's `node` devDependency (the npm package)
//   app/package.json         name, version, licence and "type": "module" of the component's package
//   app/dist/<bin>.js        its bin, bundled with every dependency (esbuild, tree-shaken): no node_modules
//   app/THIRD-PARTY-NOTICES  the licence text of every package bundled in
// and for NMI also app/dist/entrypoint.js (nmi-entrypoint.ts) and the iptables backend directories.
// The workspace must be built first (`pnpm build`): the bins are bundled from their dist/.
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { build, type Metafile, type Plugin } from 'esbuild';
import {
  COMPONENTS,
  REPO_ROOT,
  component,
  componentBin,
  componentManifest,
  type ImageComponent,
} from './components.ts';
import { BACKEND_COMMANDS, backendDirectory } from './iptables-backend.ts';

/** Where the image's Node binary is, inside the image. */
export const IMAGE_NODE = '/usr/local/bin/node';

// ESM output of CommonJS dependencies: esbuild's `require` shim throws on Node's own modules unless a
// real `require` is in scope.
const BANNER = [
  "import { createRequire as __imageCreateRequire } from 'node:module';",
  'const require = __imageCreateRequire(import.meta.url);',
].join('\n');

/**
 * Where the component's bundled program is in the image: `/app/dist/<bin file name>`, in the bin's
 * module format (a `.cjs` bin stays CommonJS; anything else is ESM, as app/package.json says).
 */
export function imageProgram(c: ImageComponent): string {
  return `/app/dist/${basename(componentBin(c))}`;
}

/** The path of the Node binary that the npm `node` package installed for the repository. */
export function nodeBinary(): string {
  const require = createRequire(join(REPO_ROOT, 'package.json'));
  const binary = join(dirname(require.resolve('node/package.json')), 'bin', 'node');
  if (!existsSync(binary)) throw new Error(`${binary} is missing: run pnpm install`);
  return realpathSync(binary);
}

/**
 * `createRequire(import.meta.resolve('<package>'))` finds a package's own dependencies at run time
 * (@pod-identity/core takes undici from @kubernetes/client-node's directory, so its dispatcher speaks
 * the same handler protocol as client-node's fetch). A bundle has no node_modules to find them in:
 * this plugin makes such a require serve, from the bundle, exactly the copy that package resolves.
 */
const packageRequires: Plugin = {
  name: 'package-relative-requires',
  setup(plugin) {
    plugin.onLoad({ filter: /\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const assignment =
        /(const|let|var)\s+([\w$]+)\s*=\s*createRequire\(import\.meta\.resolve\((["'])([^"']+)\3\)\)/g;
      if (!source.includes('import.meta.resolve(')) return undefined;
      const imports: string[] = [];
      const contents = source.replace(
        assignment,
        (_, keyword: string, name: string, _quote, owner: string) => {
          const ownerRequire = createRequire(createRequire(args.path).resolve(owner));
          const calls = new RegExp(`${name.replace(/\$/g, '\\$')}\\((["'])([^"']+)\\1\\)`, 'g');
          const modules = [...source.matchAll(calls)].map((call) => {
            const id = call[2] ?? '';
            const local = `__bundled_${String(imports.length)}`;
            imports.push(`import ${local} from ${JSON.stringify(ownerRequire.resolve(id))};`);
            return `${JSON.stringify(id)}: ${local}`;
          });
          return `${keyword} ${name} = (id) => { const bundled = { ${modules.join(', ')} }; if (id in bundled) return bundled[id]; throw new Error(\`\${id} is not bundled\`); }`;
        },
      );
      return { contents: `${imports.join('\n')}\n${contents}`, loader: 'js' };
    });
  },
};

async function bundle(entry: string, outfile: string): Promise<Metafile> {
  const esm = !outfile.endsWith('.cjs');
  const result = await build({
    entryPoints: [entry],
    outfile,
    absWorkingDir: REPO_ROOT,
    bundle: true,
    platform: 'node',
    format: esm ? 'esm' : 'cjs',
    target: 'node22',
    ...(esm ? { banner: { js: BANNER } } : {}),
    legalComments: 'none',
    minifySyntax: true,
    minifyWhitespace: true,
    keepNames: true,
    metafile: true,
    plugins: [packageRequires],
    logLevel: 'warning',
  });
  // Whatever resolves packages at run time would fail in the image, where there is no node_modules.
  if (readFileSync(outfile, 'utf8').includes('import.meta.resolve(')) {
    throw new Error(`${outfile} still resolves a package at run time (import.meta.resolve)`);
  }
  return result.metafile;
}

interface BundledPackage {
  readonly name: string;
  readonly version: string;
  readonly license: string;
  readonly dir: string;
}

/** The packages (nearest package.json with a name) that the bundled input files belong to. */
function bundledPackages(metafiles: readonly Metafile[]): BundledPackage[] {
  const found = new Map<string, BundledPackage>();
  for (const input of metafiles.flatMap((m) => Object.keys(m.inputs))) {
    let dir = dirname(join(REPO_ROOT, input));
    while (dir.startsWith(REPO_ROOT) && dir !== REPO_ROOT) {
      const manifestPath = join(dir, 'package.json');
      if (existsSync(manifestPath)) {
        const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
          name?: string;
          version?: string;
          license?: string;
        };
        if (manifest.name !== undefined) {
          const key = `${manifest.name}@${manifest.version ?? '?'}`;
          if (!found.has(key)) {
            found.set(key, {
              name: manifest.name,
              version: manifest.version ?? '?',
              license: manifest.license ?? 'see the package',
              dir,
            });
          }
          break;
        }
      }
      dir = dirname(dir);
    }
  }
  return [...found.values()].sort((a, b) => a.name.localeCompare(b.name));
}

function noticeText(packages: readonly BundledPackage[]): string {
  const sections = packages.map((pkg) => {
    const files = readdirSync(pkg.dir).filter((file) => /^(licen[cs]e|copying|notice)/i.test(file));
    const texts = files.map((file) => readFileSync(join(pkg.dir, file), 'utf8').trim());
    return [`${pkg.name}@${pkg.version} (${pkg.license})`, ...texts].join('\n\n');
  });
  return `Packages bundled into this image's program, with their licences.\n\n${sections.join(`\n\n${'-'.repeat(72)}\n\n`)}\n`;
}

/** For NMI: `iptables`, `iptables-save`, … linked to each backend's Debian multi-call binary. */
function backendLinks(out: string): void {
  for (const backend of ['nft', 'legacy'] as const) {
    const dir = join(out, backendDirectory(backend));
    mkdirSync(dir, { recursive: true });
    for (const command of BACKEND_COMMANDS)
      symlinkSync(`/usr/sbin/xtables-${backend}-multi`, join(dir, command));
  }
}

/**
 * Writes `c`'s layer into `out` (emptied first).
 * @returns the bundled files' sizes in bytes, by path inside the image
 */
export async function stageApp(c: ImageComponent, out: string): Promise<Record<string, number>> {
  rmSync(out, { recursive: true, force: true });
  const manifest = componentManifest(c);
  const bin = componentBin(c);
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run pnpm build first`);
  const dist = join(out, 'app/dist');
  const metafiles = [await bundle(bin, join(out, imageProgram(c)))];
  if (c.name === 'nmi') {
    metafiles.push(
      await bundle(join(REPO_ROOT, 'deploy/images/nmi-entrypoint.ts'), join(dist, 'entrypoint.js')),
    );
    backendLinks(out);
  }
  writeFileSync(
    join(out, 'app/package.json'),
    `${JSON.stringify(
      {
        name: manifest.name,
        version: manifest.version,
        license: manifest.license,
        private: true,
        type: 'module',
      },
      null,
      2,
    )}\n`,
  );
  writeFileSync(join(out, 'app/THIRD-PARTY-NOTICES'), noticeText(bundledPackages(metafiles)));
  mkdirSync(join(out, dirname(IMAGE_NODE)), { recursive: true });
  copyFileSync(nodeBinary(), join(out, IMAGE_NODE));
  chmodSync(join(out, IMAGE_NODE), 0o755);
  const sizes: Record<string, number> = {};
  for (const metafile of metafiles) {
    for (const [file, info] of Object.entries(metafile.outputs))
      sizes[`/${relative(out, join(REPO_ROOT, file))}`] = info.bytes;
  }
  return sizes;
}

if (import.meta.main) {
  const [name, out] = process.argv.slice(2);
  if (name === undefined || out === undefined) {
    process.stderr.write(
      `usage: stage-app.ts <${COMPONENTS.map((c) => c.name).join('|')}> <out>\n`,
    );
    process.exit(2);
  }
  const sizes = await stageApp(component(name), out);
  for (const [file, bytes] of Object.entries(sizes))
    process.stdout.write(`${file} ${(bytes / 1024).toFixed(0)} KiB\n`);
}
