// The packages the repository publishes (every folder under packages/), with their manifests, for the
// checks that keep what users install in order: manifest fields (scripts/test), the pack-and-install
// step (scripts/pack) and the API reports (scripts/api-report.ts).
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './ensure-built.ts';

/** An export map value: a path, or conditions mapping to further values. */
export type ExportTarget = string | { readonly [condition: string]: ExportTarget };

/** The fields of a package.json that these checks read. */
export interface PackageManifest {
  readonly name: string;
  readonly version: string;
  readonly private?: boolean;
  readonly license?: string;
  readonly repository?: { type: string; url: string; directory?: string };
  readonly homepage?: string;
  readonly bugs?: { url: string };
  readonly files?: readonly string[];
  readonly bin?: Readonly<Record<string, string>>;
  readonly exports: Readonly<Record<string, ExportTarget>>;
  readonly publishConfig?: {
    readonly access?: string;
    readonly exports?: Readonly<Record<string, ExportTarget>>;
  };
  readonly dependencies?: Readonly<Record<string, string>>;
  readonly devDependencies?: Readonly<Record<string, string>>;
  readonly peerDependencies?: Readonly<Record<string, string>>;
}

/** A published package: its folder and manifest. */
export interface PublishedPackage {
  /** Absolute path of the package folder. */
  readonly dir: string;
  /** Path from the repository root, e.g. `packages/client`. */
  readonly path: string;
  readonly manifest: PackageManifest;
}

/** Every package under packages/, in directory order. */
export function publishedPackages(): PublishedPackage[] {
  return readdirSync(join(repoRoot, 'packages'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => {
      const path = `packages/${entry.name}`;
      const dir = join(repoRoot, path);
      const manifest = JSON.parse(
        readFileSync(join(dir, 'package.json'), 'utf8'),
      ) as PackageManifest;
      return { dir, path, manifest };
    });
}

/** An export map with the workspace-only `source` condition removed, as it is published. */
export function withoutSourceCondition(
  exports: Readonly<Record<string, ExportTarget>>,
): Record<string, ExportTarget> {
  const strip = (target: ExportTarget): ExportTarget =>
    typeof target === 'string'
      ? target
      : Object.fromEntries(
          Object.entries(target)
            .filter(([condition]) => condition !== 'source')
            .map(([condition, value]) => [condition, strip(value)]),
        );
  return Object.fromEntries(Object.entries(exports).map(([key, value]) => [key, strip(value)]));
}
