/** One expectation about the walkthrough's output, and whether it held. */
export interface OutputExpectation {
  /** What is expected, in words. */
  readonly description: string;
  /** Whether the output meets it. */
  readonly met: boolean;
}

const STEP_TITLES = [
  'Create the cluster with pod identity enabled',
  'Create a user-assigned identity',
  'Grant the identity "Virtual Machine Contributor" on the node resource group',
  'Add the pod identity',
  'Show the AzureIdentity and AzureIdentityBinding',
  'Run the demo pod',
  'Use two identities through one binding selector',
  'Ask for an identity the pod is not bound to',
  'Migrate the demo pod to workload identity federation',
  'Delete the pods and the pod identities; the identities leave the scale set',
  'Clean up',
] as const;

const GUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

/**
 * Checks the walkthrough's printed output step by step: every step title in order, and in each step
 * the lines the walkthrough shows (CRDs and the aks-addon-exception on enable, one NMI per node, the
 * AzureIdentity and binding, the demo pod's four log lines through NMI, two identities behind one
 * selector, a request for an unbound identity refused on the first answer with NMI's reason, the
 * migration to federation, the identities leaving the scale set, clean-up) and the final success line. Used by the
 * walkthrough's test and by `pnpm demo` itself, so CI checks the demo's output, not just its exit code.
 *
 * @param lines - the output, one line per element
 * @returns every expectation with whether it was met
 */
export function checkWalkthroughOutput(lines: readonly string[]): OutputExpectation[] {
  const total = STEP_TITLES.length;
  const titles = lines.filter((line) => /^\[\d+\/\d+\] /.test(line));
  const section = (n: number): string => {
    const start = lines.findIndex((line) => line.startsWith(`[${n}/${total}] `));
    if (start === -1) return '';
    const end = lines.findIndex(
      (line, i) => i > start && (/^\[\d+\/\d+\] /.test(line) || line.startsWith('walkthrough ')),
    );
    return lines.slice(start, end === -1 ? undefined : end).join('\n');
  };
  const expect = (description: string, met: boolean): OutputExpectation => ({ description, met });
  const has = (n: number, pattern: RegExp | string): boolean =>
    typeof pattern === 'string' ? section(n).includes(pattern) : pattern.test(section(n));
  return [
    expect(
      `the ${total} steps in order`,
      titles.length === total &&
        STEP_TITLES.every(
          (title, i) => titles[i]?.startsWith(`[${i + 1}/${total}] ${title}`) === true,
        ),
    ),
    expect(
      'step 1 installs the CRDs',
      has(
        1,
        'customresourcedefinition.apiextensions.k8s.io/azureidentities.aadpodidentity.k8s.io created',
      ),
    ),
    expect(
      'step 1 adds the aks-addon-exception',
      has(
        1,
        'azurepodidentityexception.aadpodidentity.k8s.io/aks-addon-exception created in namespace kube-system',
      ),
    ),
    expect('step 1 starts MIC', has(1, 'MIC started')),
    expect(
      'step 1 starts one NMI per node',
      (section(1).match(/NMI on \S+ at http:\/\/127\.\d+\.\d+\.\d+:\d+/g) ?? []).length >= 2,
    ),
    expect('step 2 shows the client ID', has(2, new RegExp(`clientId: +${GUID}`))),
    expect('step 3 says what the sandbox does not model', has(3, 'not modelled by the sandbox')),
    expect(
      'step 4 creates the AzureIdentity',
      has(
        4,
        new RegExp(
          `azureidentity\\.aadpodidentity\\.k8s\\.io/my-pod-identity created in namespace my-app \\(client ID ${GUID}\\)`,
        ),
      ),
    ),
    expect(
      'step 4 creates the binding',
      has(
        4,
        'azureidentitybinding.aadpodidentity.k8s.io/my-pod-identity-binding created in namespace my-app (selector demo)',
      ),
    ),
    expect(
      'step 5 lists the pod identity',
      has(
        5,
        new RegExp(
          `my-app\\s+my-pod-identity\\s+UserAssignedMSI\\s+${GUID}\\s+demo\\s+/subscriptions/`,
        ),
      ),
    ),
    expect(
      'step 6 starts the demo pod on its pod IP',
      has(6, /pod my-app\/demo on \S+ with IP 127\.\d+\.\d+\.\d+/),
    ),
    expect(
      'step 6: the demo acquired a token',
      has(
        6,
        /demo \| successfully acquired a token using the MSI, msiEndpoint\(http:\/\/127\.[\d.]+:\d+\/metadata\/identity\/oauth2\/token\)/,
      ),
    ),
    expect(
      'step 6: with the user-assigned identity',
      has(
        6,
        new RegExp(
          `demo \\| successfully acquired a token, userAssignedID MSI, msiEndpoint\\(.*\\) clientID\\(${GUID}\\)`,
        ),
      ),
    ),
    expect(
      'step 6: listed the VMs through ARM',
      has(6, 'demo | successfully doARMOperations vm count 0'),
    ),
    expect(
      'step 6: read the instance metadata',
      has(6, /demo \| successfully made GET on instance metadata, \{"name":/),
    ),
    expect(
      'step 6: explain says NMI serves the identity',
      has(6, /no identity named\s+200\s+token for my-app\/my-pod-identity/),
    ),
    expect(
      'step 7: tokens for both identities',
      (section(7).match(/multi \| successfully acquired a token, userAssignedID MSI/g) ?? [])
        .length === 2,
    ),
    expect(
      'step 8: a request for an unbound identity fails on the first answer with NMI`s reason',
      has(
        8,
        /demo \| refused at once \(1 request, status 400\): .*Identity not found: .*my-app\/demo/,
      ),
    ),
    expect(
      'step 9: migrate plans a federated credential for the demo pod`s service account',
      has(
        9,
        /my-app\/my-pod-identity-binding\s+my-app\/my-pod-identity\s+\S+\s+my-app\/default\s+demo\s+pod-identity-my-app-default \(create\)/,
      ),
    ),
    expect(
      'step 9: the binding goes only after Entra accepted the pod`s token',
      has(9, /my-app\/my-pod-identity-binding\s+my-app\/default\s+\S+\s+yes\s+yes/),
    ),
    expect(
      'step 9: no identity left on the scale sets',
      has(9, /identities after migration: +\S+: \[\]/) &&
        !has(9, /identities after migration: .*identity\]/),
    ),
    expect(
      'step 9: the same demo pod gets its token again, through NMI',
      has(
        9,
        new RegExp(
          `demo \\| successfully acquired a token, userAssignedID MSI, msiEndpoint\\(.*\\) clientID\\(${GUID}\\)`,
        ),
      ) && has(9, 'demo | successfully doARMOperations vm count 0'),
    ),
    expect('step 9: served by federation', has(9, /served by federation: [1-9]\d* token exchange/)),
    expect('step 10: no identity on the scale set', has(10, /identities after: +\S+: \[\]/)),
    expect('step 11 disables pod identity', has(11, 'pod identity disabled')),
    expect('step 11 stops the sandbox', has(11, 'sandbox stopped')),
    expect(
      'the success line',
      /^walkthrough succeeded: 11\/11 steps passed in \d+\.\d s$/.test(lines.at(-1) ?? ''),
    ),
    expect('no step failed', !lines.some((line) => line.includes('FAILED'))),
  ];
}
