// Reads an OCI image archive (what build.ts writes) and unpacks its layers into a directory, the way a
// container runtime lays out an image's root filesystem. The images are built FROM scratch with no file
// ever deleted in a later layer, so there are no whiteouts to apply.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The parts of an OCI image config the tests and the docs use. */
export interface OciImageConfig {
  readonly architecture: string;
  readonly os: string;
  readonly config: {
    readonly User?: string;
    readonly Env?: readonly string[];
    readonly Entrypoint?: readonly string[];
    readonly Cmd?: readonly string[];
    readonly WorkingDir?: string;
    readonly Labels?: Readonly<Record<string, string>>;
    readonly ExposedPorts?: Readonly<Record<string, object>>;
  };
}

/** An image read from an archive. */
export interface OciImage {
  /** `org.opencontainers.image.ref.name` of the archive's one manifest. */
  readonly reference: string | undefined;
  readonly config: OciImageConfig;
  /** Layer media types and sizes, bottom first. */
  readonly layers: readonly { mediaType: string; size: number; digest: string }[];
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

function blobPath(layout: string, digest: string): string {
  const [algorithm, hex = ''] = digest.split(':');
  if (algorithm !== 'sha256' || !/^[0-9a-f]{64}$/.test(hex))
    throw new Error(`unexpected digest ${digest}`);
  return join(layout, 'blobs', 'sha256', hex);
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function readLayout(layout: string): OciImage & { layerPaths: string[] } {
  const index = readJson(join(layout, 'index.json')) as { manifests: Descriptor[] };
  const [descriptor, ...more] = index.manifests;
  if (descriptor === undefined || more.length > 0)
    throw new Error(`expected one image in the archive, found ${String(index.manifests.length)}`);
  const manifest = readJson(blobPath(layout, descriptor.digest)) as {
    config: Descriptor;
    layers: Descriptor[];
  };
  return {
    reference: descriptor.annotations?.['org.opencontainers.image.ref.name'],
    config: readJson(blobPath(layout, manifest.config.digest)) as OciImageConfig,
    layers: manifest.layers.map(({ mediaType, size, digest }) => ({ mediaType, size, digest })),
    layerPaths: manifest.layers.map((layer) => blobPath(layout, layer.digest)),
  };
}

/** Runs `use` on the archive's OCI layout, extracted to a temporary directory removed afterwards. */
function withLayout<T>(archive: string, use: (layout: string) => T): T {
  const layout = mkdtempSync(join(tmpdir(), 'pod-identity-images-layout-'));
  try {
    execFileSync('tar', ['-xf', archive, '-C', layout]);
    return use(layout);
  } finally {
    rmSync(layout, { recursive: true, force: true });
  }
}

/** The image in an OCI archive: its reference, config and layers. */
export function readOciArchive(archive: string): OciImage {
  return withLayout(archive, (layout) => {
    const { reference, config, layers } = readLayout(layout);
    return { reference, config, layers };
  });
}

/**
 * Unpacks the archive's image into `rootfs` (created), layer by layer, keeping owners, modes and
 * links as the image has them (this runs as root).
 */
export function unpackOciArchive(archive: string, rootfs: string): OciImage {
  return withLayout(archive, (layout) => {
    const { layerPaths, ...image } = readLayout(layout);
    mkdirSync(rootfs, { recursive: true });
    for (const layer of layerPaths) {
      // GNU tar recognises a gzip layer by itself.
      execFileSync('tar', ['-xf', layer, '-C', rootfs, '--numeric-owner', '--same-owner', '-p']);
    }
    return image;
  });
}
