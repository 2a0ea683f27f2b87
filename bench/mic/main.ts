// bench/mic: MIC's planning cost (20,000 pods, 500 identities, 1,000 nodes in 10 scale sets), ARM
// writes per burst, time from 1,000 pods bound to all Assigned with a 0 ms ARM, single-pod bound →
// Assigned latency, and the controller's heap with 20,000 pods cached. The Kubernetes emulator runs in
// a child process so that the heap figure is MIC's own. Results: bench/results/mic.json.
import '@pod-identity/test-support/source-hooks';

const role = process.argv[2];
if (role === undefined) {
  // The testkit's emulators use TypeScript syntax that type stripping alone cannot run (parameter
  // properties), so the measuring process and the emulator process run with type transformation.
  const { spawnSync } = await import('node:child_process');
  const result = spawnSync(
    process.execPath,
    [
      '--expose-gc',
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
await (role === 'kube' ? import('./kube-process.ts') : import('./mic-bench.ts'));
