import { describe, expect, it } from 'vitest';
import { runWalkthrough } from '@pod-identity/example-walkthrough';

// `pnpm demo` runs this walkthrough with the demo pod as a child process; here the pod runs in-process
// (its sockets bound to its pod IP) so the test needs no build. The output is checked step by step.
describe('the walkthrough', () => {
  it('passes every step and prints what the walkthrough shows', { timeout: 120_000 }, async () => {
    const lines: string[] = [];
    const result = await runWalkthrough({
      write: (line) => lines.push(line),
      podRunner: 'in-process',
    });
    const output = lines.join('\n');
    expect(result.failure).toBeUndefined();
    expect(result.ok).toBe(true);
    expect(result.passed).toBe(result.total);

    const steps = lines.filter((line) => /^\[\d+\/\d+\] /.test(line));
    expect(steps.map((line) => line.replace(/ \(.*$/, ''))).toEqual([
      '[1/9] Create the cluster with pod identity enabled',
      '[2/9] Create a user-assigned identity',
      '[3/9] Grant the identity "Virtual Machine Contributor" on the node resource group',
      '[4/9] Add the pod identity',
      '[5/9] Show the AzureIdentity and AzureIdentityBinding',
      '[6/9] Run the demo pod',
      '[7/9] Use two identities through one binding selector',
      '[8/9] Delete the pods and the pod identities; the identities leave the scale set',
      '[9/9] Clean up',
    ]);
    const section = (n: number): string => {
      const start = lines.findIndex((line) => line.startsWith(`[${n}/9]`));
      const end = lines.findIndex((line, i) => i > start && /^\[\d+\/9\]|^walkthrough /.test(line));
      return lines.slice(start, end).join('\n');
    };
    expect(section(1)).toContain(
      'customresourcedefinition.apiextensions.k8s.io/azureidentities.aadpodidentity.k8s.io created',
    );
    expect(section(1)).toContain(
      'azurepodidentityexception.aadpodidentity.k8s.io/aks-addon-exception created in namespace kube-system',
    );
    expect(section(1)).toMatch(/NMI on \S+ at http:\/\/127\.1\.1\.1:\d+/);
    expect(section(1)).toMatch(/NMI on \S+ at http:\/\/127\.1\.2\.1:\d+/);
    expect(section(3)).toContain('not modelled by the sandbox');
    expect(section(4)).toMatch(
      /azureidentity\.aadpodidentity\.k8s\.io\/my-pod-identity created in namespace my-app \(client ID [0-9a-f-]{36}\)/,
    );
    expect(section(4)).toContain(
      'azureidentitybinding.aadpodidentity.k8s.io/my-pod-identity-binding created in namespace my-app (selector demo)',
    );
    expect(section(5)).toMatch(
      /my-app\s+my-pod-identity\s+UserAssignedMSI\s+[0-9a-f-]{36}\s+demo\s+\/subscriptions\//,
    );
    const demo = section(6);
    expect(demo).toMatch(/pod my-app\/demo on \S+ with IP 127\.3\.1\.\d+/);
    expect(demo).toMatch(
      /demo \| successfully acquired a token using the MSI, msiEndpoint\(http:\/\/127\.1\.1\.1:\d+\/metadata\/identity\/oauth2\/token\)/,
    );
    expect(demo).toMatch(
      /demo \| successfully acquired a token, userAssignedID MSI, msiEndpoint\(.*\) clientID\([0-9a-f-]{36}\)/,
    );
    expect(demo).toContain('demo | successfully doARMOperations vm count 0');
    expect(demo).toMatch(/demo \| successfully made GET on instance metadata, \{"name":/);
    expect(demo).toMatch(
      /NMI would answer:\n.*\n\s+no identity named\s+token for my-app\/my-pod-identity/,
    );
    expect(
      section(7).match(/multi \| successfully acquired a token, userAssignedID MSI/g),
    ).toHaveLength(2);
    expect(section(8)).toMatch(
      /scale set identities before: \S+: \[demo-identity, second-identity\]|scale set identities before: \S+: \[second-identity, demo-identity\]/,
    );
    expect(section(8)).toMatch(/scale set identities after: {2}\S+: \[\]/);
    expect(section(9)).toContain('pod identity disabled');
    expect(section(9)).toContain('sandbox stopped');
    expect(lines.at(-1)).toMatch(/^walkthrough succeeded: 9\/9 steps passed in \d+\.\d s$/);
    expect(output).not.toContain('FAILED');
  });
});
