// The images this repository builds, and where each one's program comes from.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Root of the repository (this file lives in deploy/images/). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** An image name. */
export type ComponentName = 'mic' | 'nmi' | 'demo';

/** One image: the workspace package whose bin it runs. */
export interface ImageComponent {
  readonly name: ComponentName;
  /** The package's folder, relative to the repository root. */
  readonly packageDir: string;
  /** The `bin` entry of its package.json that the image runs. */
  readonly bin: string;
}

/** Every image, in build order. */
export const COMPONENTS: readonly ImageComponent[] = [
  { name: 'mic', packageDir: 'packages/mic', bin: 'pod-identity-mic' },
  { name: 'nmi', packageDir: 'packages/nmi', bin: 'pod-identity-nmi' },
  { name: 'demo', packageDir: 'examples/demo-app', bin: 'pod-identity-demo' },
];

/** The component called `name`; throws on an unknown name. */
export function component(name: string): ImageComponent {
  const found = COMPONENTS.find((c) => c.name === name);
  if (!found) {
    throw new Error(
      `unknown image ${JSON.stringify(name)}; one of ${COMPONENTS.map((c) => c.name).join(', ')}`,
    );
  }
  return found;
}

/** What the images need of a package.json. */
export interface PackageManifest {
  readonly name: string;
  readonly version: string;
  readonly license?: string;
  readonly bin?: Readonly<Record<string, string>>;
}

/** The package.json of a component's package. */
export function componentManifest(c: ImageComponent): PackageManifest {
  return JSON.parse(
    readFileSync(join(REPO_ROOT, c.packageDir, 'package.json'), 'utf8'),
  ) as PackageManifest;
}

/** The built bin script of a component (absolute path); throws when the package has no such bin. */
export function componentBin(c: ImageComponent): string {
  const target = componentManifest(c).bin?.[c.bin];
  if (target === undefined) throw new Error(`${c.packageDir} has no bin ${c.bin}`);
  return join(REPO_ROOT, c.packageDir, target);
}
