import type { TokenCredential } from '@azure/identity';
import { runCli } from '@pod-identity/cli';
import type { Sandbox } from '@pod-identity/testkit';

/** What one in-process `pod-identity` run printed and returned. */
export interface SandboxCliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `pod-identity <args>` in-process against the sandbox's Kubernetes API, ARM and Entra, signed
 * in to Azure with `credential` (the administrator's).
 */
export async function runCliOnSandbox(
  sandbox: Sandbox,
  credential: TokenCredential,
  args: readonly string[],
): Promise<SandboxCliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli([...args], {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
    kubeConfig: sandbox.kubeConfig,
    azure: {
      credential,
      endpoint: sandbox.endpoints.arm,
      tlsOptions: sandbox.azureClientOptions.tlsOptions,
      authorityHost: sandbox.endpoints.entra,
    },
  });
  return { code, stdout, stderr };
}
