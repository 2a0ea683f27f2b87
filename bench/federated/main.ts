// bench/federated: pod created → first token in standard mode (MIC assigns the identity to the scale
// set; ARM at 0 ms and at a realistic scale-set update time) beside federated mode (NMI exchanges a
// pod-bound service-account token at Entra; chosen by the service account's annotation or by the
// AzureIdentity's), in one run on one sandbox each; and the cache-hit path of a standard pod beside
// both kinds of federated pod on one NMI. Results: bench/results/federated.json.
import '@pod-identity/test-support/source-hooks';

const role = process.argv[2];
if (role === undefined) {
  // The testkit's emulators use TypeScript syntax that type stripping alone cannot run.
  const { spawnSync } = await import('node:child_process');
  const result = spawnSync(
    process.execPath,
    [
      '--conditions=source',
      '--experimental-transform-types',
      '--no-warnings',
      import.meta.filename,
      'measure',
    ],
    { stdio: 'inherit' },
  );
  process.exit(result.status ?? 1);
}
await import('./federated-bench.ts');
