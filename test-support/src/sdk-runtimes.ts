// The real Azure SDKs of other languages, for tests that point them at NMI: a Python virtual
// environment with azure-identity from PyPI, a Go program built against azidentity from the Go
// module proxy, and a Java program compiled against azure-identity from Maven Central. All are kept
// under the cache root ($POD_IDENTITY_CACHE, default ~/.cache/pod-identity), keyed by what they were
// made from, so only the first run pays for them.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The azure-identity release the Python tests install. */
export const PYTHON_AZURE_IDENTITY_VERSION = '1.27.0';

/** The Python application (`sdk/python_token.py`): prints one {@link SdkOutcome} line. */
export const PYTHON_TOKEN_SCRIPT = fileURLToPath(
  new URL('../sdk/python_token.py', import.meta.url),
);

/** The Go application's sources (`sdk/go`, azidentity pinned by its go.mod and go.sum). */
export const GO_TOKEN_SOURCES = fileURLToPath(new URL('../sdk/go', import.meta.url));

/** The azure-identity release the Java program is compiled against (pinned in `sdk/java/pom.xml`). */
export const JAVA_AZURE_IDENTITY_VERSION = '1.19.0';

/** The Java application's sources (`sdk/java`: its pom.xml and `src/main/java`). */
export const JAVA_TOKEN_SOURCES = fileURLToPath(new URL('../sdk/java', import.meta.url));

/** The cache root shared with the conformance and image builds. */
export function cacheRoot(): string {
  return process.env.POD_IDENTITY_CACHE ?? join(homedir(), '.cache', 'pod-identity');
}

// Builds into a fresh directory beside `target` and renames it into place, so a run stopped
// half-way never leaves a directory that looks complete, and two runs never share one.
async function buildOnce(target: string, build: (dir: string) => Promise<void>): Promise<string> {
  if (existsSync(join(target, '.complete'))) return target;
  const scratch = `${target}.partial-${String(process.pid)}`;
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  try {
    await build(scratch);
    await mkdir(join(scratch, '.complete'));
    await rm(target, { recursive: true, force: true });
    await rename(scratch, target);
  } catch (error) {
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }
  return target;
}

/**
 * A Python interpreter with `azure-identity==version` installed from PyPI (and its dependencies), in
 * a virtual environment under the cache (needs `python3` with the `venv` module: Debian's
 * `python3-venv`).
 * @param version - the azure-identity version (default {@link PYTHON_AZURE_IDENTITY_VERSION})
 * @returns the path of the environment's `python`
 */
export async function pythonWithAzureIdentity(
  version: string = PYTHON_AZURE_IDENTITY_VERSION,
): Promise<string> {
  const dir = await buildOnce(
    join(cacheRoot(), 'sdk', `python-azure-identity-${version}`),
    async (scratch) => {
      await run('python3', ['-m', 'venv', scratch], { timeout: 300_000 });
      // A venv's scripts name their own path; the interpreter is called by path after the rename.
      await run(
        join(scratch, 'bin', 'python'),
        [
          '-m',
          'pip',
          'install',
          '--quiet',
          '--disable-pip-version-check',
          `azure-identity==${version}`,
        ],
        { timeout: 600_000 },
      );
    },
  );
  return join(dir, 'bin', 'python');
}

// A short hash of the files under `dir` that `include` selects (paths and contents), so an edit
// rebuilds what was made from them.
async function sourceKey(dir: string, include: (file: string) => boolean): Promise<string> {
  const hash = createHash('sha256');
  const files = (await readdir(dir, { recursive: true })).filter(include).sort();
  for (const file of files) {
    hash.update(file);
    hash.update(await readFile(join(dir, file)));
  }
  return hash.digest('hex').slice(0, 16);
}

/**
 * A Go program built from `sourceDir` (its `go.mod` and `go.sum` pin azidentity), modules from the
 * Go module proxy. Keyed by the hash of the sources, so an edit rebuilds it.
 * @param sourceDir - directory with `go.mod`, `go.sum` and the program's `.go` files (default
 *   {@link GO_TOKEN_SOURCES})
 * @param name - the binary's name
 * @returns the path of the binary
 */
export async function goProgram(
  sourceDir: string = GO_TOKEN_SOURCES,
  name = 'sdk-go',
): Promise<string> {
  const key = await sourceKey(
    sourceDir,
    (file) => file.endsWith('.go') || file === 'go.mod' || file === 'go.sum',
  );
  const dir = await buildOnce(join(cacheRoot(), 'sdk', `go-${name}-${key}`), async (scratch) => {
    await cp(sourceDir, join(scratch, 'src'), { recursive: true });
    await run('go', ['build', '-mod=readonly', '-o', join(scratch, name), '.'], {
      cwd: join(scratch, 'src'),
      timeout: 900_000,
      // GOTOOLCHAIN=local: never fetch a newer Go; azidentity 1.15 needs Go >= 1.25.
      env: { ...process.env, CGO_ENABLED: '0', GOFLAGS: '', GOTOOLCHAIN: 'local' },
    });
    await rm(join(scratch, 'src'), { recursive: true, force: true });
  });
  return join(dir, name);
}

/**
 * The Java program of `sourceDir` (`sdk/java`): its dependencies (azure-identity and what it needs)
 * copied from Maven Central by `mvn` into the cache, its sources compiled by `javac` (Java 17), and a
 * launcher script that runs it with `java`. Maven's downloads stay in the cache's
 * `sdk/maven-repository`, so a change of the sources rebuilds without downloading again. Keyed by
 * the hash of the pom and the sources.
 * @param sourceDir - directory with `pom.xml` and `src/main/java` (default {@link JAVA_TOKEN_SOURCES})
 * @returns the path of the launcher (arguments go to the program)
 */
export async function javaProgram(sourceDir: string = JAVA_TOKEN_SOURCES): Promise<string> {
  const key = await sourceKey(sourceDir, (file) => file === 'pom.xml' || file.endsWith('.java'));
  const mavenRepository = join(cacheRoot(), 'sdk', 'maven-repository');
  const dir = await buildOnce(join(cacheRoot(), 'sdk', `java-sdk-java-${key}`), async (scratch) => {
    await run(
      'mvn',
      [
        '-B',
        '-q',
        '-f',
        join(sourceDir, 'pom.xml'),
        `-Dmaven.repo.local=${mavenRepository}`,
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        `-DoutputDirectory=${join(scratch, 'lib')}`,
      ],
      { timeout: 900_000 },
    );
    const sources = (await readdir(join(sourceDir, 'src', 'main', 'java'), { recursive: true }))
      .filter((file) => file.endsWith('.java'))
      .map((file) => join(sourceDir, 'src', 'main', 'java', file));
    await run(
      'javac',
      [
        '--release',
        '17',
        '-d',
        join(scratch, 'classes'),
        '-cp',
        join(scratch, 'lib', '*'),
        ...sources,
      ],
      { timeout: 300_000 },
    );
    // The launcher finds its classes beside itself: the directory is renamed into place after this.
    const launcher = join(scratch, 'sdk-java');
    await writeFile(
      launcher,
      [
        '#!/bin/sh',
        'here=$(dirname "$0")',
        'exec java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$here/classes:$here/lib/*" podidentity.SdkJava "$@"',
        '',
      ].join('\n'),
    );
    await chmod(launcher, 0o755);
  });
  return join(dir, 'sdk-java');
}

/**
 * What an SDK program printed: the token, or the error its application would see, and how long the
 * SDK's call took (for reports; tests assert on requests counted, not on time).
 */
export type SdkOutcome = (
  | { readonly ok: true; readonly token: string; readonly expiresOn: number }
  | {
      readonly ok: false;
      readonly type: string;
      readonly message: string;
      /** The messages of the error's causes, one a line (Java's exceptions nest NMI's answer). */
      readonly causes?: string;
    }
) & { readonly elapsedMs: number };

/**
 * Runs an SDK program that prints one JSON {@link SdkOutcome} line, and parses it.
 * @param file - the program
 * @param args - its arguments
 * @param env - extra environment
 */
export async function runSdkProgram(
  file: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
): Promise<SdkOutcome> {
  const { stdout } = await run(file, args, {
    env: { ...process.env, ...env },
    timeout: 240_000,
  });
  const line = stdout.trim().split('\n').pop() ?? '';
  return JSON.parse(line) as SdkOutcome;
}
