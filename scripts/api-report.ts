// `pnpm api:report`: the API reports of every published entry point, written by
// @microsoft/api-extractor from the built declarations into packages/<pkg>/review/<entry>.api.md and
// committed, so that a change to any exported name or type shows in review. `pnpm api:check` (CI)
// fails when a report no longer matches the code; run `pnpm api:report` and commit the result.
// Declarations marked `@internal` (for the other pod-identity packages, not for applications) are
// listed with that mark.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  Extractor,
  ExtractorConfig,
  ExtractorLogLevel,
  type IConfigFile,
} from '@microsoft/api-extractor';
import { ensureBuilt } from './ensure-built.ts';
import {
  publishedPackages,
  type ExportTarget,
  type PublishedPackage,
} from './published-packages.ts';

/** One entry point: `@pod-identity/core/kubernetes` is `core-kubernetes`, its declarations in dist/. */
interface EntryPoint {
  readonly pkg: PublishedPackage;
  readonly specifier: string;
  readonly reportName: string;
  readonly declarations: string;
}

/** The `types` of an export target (the `import` one where import and require differ). */
function typesOf(target: ExportTarget): string | undefined {
  if (typeof target === 'string') return undefined;
  const types = target.types;
  if (typeof types === 'string') return types;
  return target.import === undefined ? undefined : typesOf(target.import);
}

function entryPoints(): EntryPoint[] {
  return publishedPackages().flatMap((pkg) => {
    const exports = pkg.manifest.publishConfig?.exports ?? pkg.manifest.exports;
    return Object.entries(exports).flatMap(([key, target]) => {
      const types = typesOf(target);
      if (key === './package.json' || types === undefined) return [];
      const unscoped = pkg.manifest.name.replace(/^@pod-identity\//, '');
      const sub = key === '.' ? '' : key.slice(2);
      return [
        {
          pkg,
          specifier: sub === '' ? pkg.manifest.name : `${pkg.manifest.name}/${sub}`,
          reportName: sub === '' ? unscoped : `${unscoped}-${sub.replaceAll('/', '-')}`,
          declarations: join(pkg.dir, types),
        },
      ];
    });
  });
}

function configFor(entry: EntryPoint, tempFolder: string): IConfigFile {
  return {
    projectFolder: entry.pkg.dir,
    mainEntryPointFilePath: entry.declarations,
    compiler: {
      overrideTsconfig: {
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2023',
          lib: ['es2023'],
          types: ['node'],
          strict: true,
          skipLibCheck: true,
        },
        files: [entry.declarations],
      },
    },
    apiReport: {
      enabled: true,
      reportFolder: join(entry.pkg.dir, 'review'),
      reportTempFolder: tempFolder,
      reportFileName: entry.reportName,
    },
    docModel: { enabled: false },
    dtsRollup: { enabled: false },
    tsdocMetadata: { enabled: false },
    messages: {
      compilerMessageReporting: { default: { logLevel: ExtractorLogLevel.Warning } },
      extractorMessageReporting: {
        default: { logLevel: ExtractorLogLevel.Warning },
        // Release tags other than @internal are not used: everything untagged is public.
        'ae-missing-release-tag': { logLevel: ExtractorLogLevel.None },
        'ae-internal-missing-underscore': { logLevel: ExtractorLogLevel.None },
        // Types reachable but not exported by name (option bags of options bags, brand symbols)
        // are listed in the report instead.
        'ae-forgotten-export': { logLevel: ExtractorLogLevel.None, addToApiReportFile: true },
        'ae-unresolved-link': { logLevel: ExtractorLogLevel.None },
        // TSDoc coverage is a review matter, not a build failure.
        'ae-undocumented': { logLevel: ExtractorLogLevel.None },
      },
      tsdocMessageReporting: { default: { logLevel: ExtractorLogLevel.None } },
    },
  };
}

function main(): void {
  const check = process.argv.includes('--check');
  ensureBuilt('API reports are made from the built declarations');
  const tempFolder = mkdtempSync(join(tmpdir(), 'pod-identity-api-report-'));
  const stale: string[] = [];
  try {
    for (const entry of entryPoints()) {
      mkdirSync(join(entry.pkg.dir, 'review'), { recursive: true });
      const config = ExtractorConfig.prepare({
        configObject: configFor(entry, tempFolder),
        configObjectFullPath: undefined,
        packageJsonFullPath: join(entry.pkg.dir, 'package.json'),
      });
      const result = Extractor.invoke(config, {
        localBuild: !check,
        messageCallback: (message) => {
          // api-extractor's own notes about copying the report are replaced by ours below.
          if (
            message.messageId === 'console-api-report-copied' ||
            message.messageId === 'console-api-report-not-copied' ||
            message.messageId === 'console-api-report-changed'
          ) {
            message.handled = true;
          }
        },
      });
      const report = `${entry.pkg.path}/review/${entry.reportName}.api.md`;
      if (result.errorCount > 0) {
        stale.push(
          `${entry.specifier}: api-extractor reported ${String(result.errorCount)} error(s)`,
        );
      } else if (result.apiReportChanged) {
        if (check) stale.push(`${entry.specifier}: ${report} does not match the code`);
        else console.log(`updated ${report}`);
      } else {
        console.log(`${report} is up to date`);
      }
    }
  } finally {
    rmSync(tempFolder, { recursive: true, force: true });
  }
  if (stale.length > 0) {
    console.error(
      `${stale.join('\n')}\nThe exported API changed: run \`pnpm api:report\`, review the reports and commit them.`,
    );
    process.exit(1);
  }
}

main();
