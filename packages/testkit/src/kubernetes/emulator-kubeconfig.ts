import { stringify as toYaml } from 'yaml';
import type { KubernetesEmulatorTls } from './kubernetes-emulator.js';

/**
 * A kubeconfig (YAML) for the emulator at `url`: trusting `tls.caPem`, or skipping verification of a
 * plain http server (which client-node requires for http:// servers); with `token` when given.
 */
export function emulatorKubeconfig(
  url: string,
  tls: KubernetesEmulatorTls | undefined,
  namespace: string,
  token: string | undefined,
): string {
  return toYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [
      {
        name: 'emulator',
        cluster:
          tls === undefined
            ? { server: url, 'insecure-skip-tls-verify': true }
            : {
                server: url,
                'certificate-authority-data': Buffer.from(tls.caPem).toString('base64'),
              },
      },
    ],
    users: [{ name: 'emulator', user: token === undefined ? {} : { token } }],
    contexts: [{ name: 'emulator', context: { cluster: 'emulator', user: 'emulator', namespace } }],
    'current-context': 'emulator',
  });
}
