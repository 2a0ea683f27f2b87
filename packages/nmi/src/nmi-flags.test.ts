import { describe, expect, it } from 'vitest';
import { defaultNmiFlags, isKubenet, nmiFlagsHelp, parseNmiFlags } from './nmi-flags.js';

const parse = (args: string[], env: Record<string, string> = { NODE_NAME: 'node-1' }) => {
  const result = parseNmiFlags(args, env);
  if (!result.ok) throw new Error(result.error);
  return result.flags;
};

describe('parseNmiFlags', () => {
  it('has the original defaults for every flag', () => {
    expect(parse([])).toEqual({
      ...defaultNmiFlags({}),
      node: 'node-1',
    });
    expect(defaultNmiFlags({})).toMatchObject({
      nmiListenAddress: '127.0.0.1',
      nmiPort: 2579,
      metadataIp: '169.254.169.254',
      metadataPort: 80,
      iptUpdateIntervalSec: 60,
      forceNamespaced: false,
      exceptionMatch: 'any',
      micNamespace: 'default',
      httpProbePort: 8080,
      retryAttemptsForCreated: 16,
      retryAttemptsForAssigned: 4,
      findIdentityRetryInterval: 5,
      enableProfile: false,
      enableScaleFeatures: true,
      blockInstanceMetadata: false,
      metadataHeaderRequired: true,
      prometheusPort: 9090,
      operationMode: 'standard',
      allowNetworkPluginKubenet: false,
      kubeletConfig: '/etc/default/kubelet',
      setRetryAfterHeader: false,
      enableConntrackDeletion: false,
      logFormat: 'text',
      customUserAgent: '',
    });
  });

  it('accepts the chart’s spellings: Go single dashes, =values, camel-case names, booleans with values', () => {
    const flags = parse([
      '--node=aks-1',
      '-nmi-port',
      '3000',
      '--forceNamespaced=true',
      '--MICNamespace',
      'kube-system',
      '--enableScaleFeatures=false',
      '--metadata-header-required',
      'false',
      '--block-instance-metadata',
      '--operation-mode=MANAGED',
      '--http-probe-port=8085',
      '-v=2',
    ]);
    expect(flags).toMatchObject({
      node: 'aks-1',
      nmiPort: 3000,
      forceNamespaced: true,
      micNamespace: 'kube-system',
      enableScaleFeatures: false,
      metadataHeaderRequired: false,
      blockInstanceMetadata: true,
      operationMode: 'managed',
      httpProbePort: 8085,
      logLevel: 'debug',
    });
    expect(parse(['--force-namespaced', '--operation-mode', 'managed']).operationMode).toBe(
      'managed',
    );
  });

  it('takes the federated-mode flags, off by default, tenant and authority from the environment', () => {
    expect(parse([])).toMatchObject({
      tokenRequestKubeconfig: '',
      federatedTenantId: '',
      federatedAuthorityHost: '',
    });
    expect(
      parse(['--token-request-kubeconfig=/var/lib/kubelet/kubeconfig'], {
        NODE_NAME: 'node-1',
        AZURE_TENANT_ID: 'tenant-1',
        AZURE_AUTHORITY_HOST: 'https://login.example',
      }),
    ).toMatchObject({
      tokenRequestKubeconfig: '/var/lib/kubelet/kubeconfig',
      federatedTenantId: 'tenant-1',
      federatedAuthorityHost: 'https://login.example',
    });
    expect(parse(['--federated-tenant-id', 'tenant-2']).federatedTenantId).toBe('tenant-2');
  });

  it('still takes every old spelling of the original, with one or two dashes', () => {
    expect(
      parse([
        '-forceNamespaced',
        '-MICNamespace=kube-system',
        '-enableScaleFeatures',
        'false',
        '--enableProfile',
        '-v',
        '1',
      ]),
    ).toMatchObject({
      forceNamespaced: true,
      micNamespace: 'kube-system',
      enableScaleFeatures: false,
      enableProfile: true,
      logLevel: 'info',
    });
    expect(parse(['--log-level=warn']).logLevel).toBe('warn');
    expect(parse(['-h'], {}).help).toBe(true);
  });

  it('lists every flag and the old spellings in the help', () => {
    const help = nmiFlagsHelp();
    for (const flag of [
      '--nmi-port',
      '--force-namespaced',
      '--forceNamespaced',
      '--MICNamespace',
    ]) {
      expect(help).toContain(flag);
    }
  });

  it('takes --exception-match any (the default, the original’s rule) or all', () => {
    expect(parse(['--exception-match=all']).exceptionMatch).toBe('all');
    expect(parse(['--exception-match', 'ANY']).exceptionMatch).toBe('any');
    expect(parseNmiFlags(['--exception-match=some'], { NODE_NAME: 'n' })).toEqual({
      ok: false,
      error: '--exception-match: must be one of any, all, got "some"',
    });
  });

  it('reads NODE_NAME and FORCENAMESPACED from the environment', () => {
    expect(parse([], { NODE_NAME: 'n', FORCENAMESPACED: 'true' })).toMatchObject({
      node: 'n',
      forceNamespaced: true,
    });
  });

  it.each([
    [['--bogus'], "unknown option '--bogus'"],
    [['--nmi-port', 'x'], '--nmi-port: invalid value "x" (expected an integer 0…65535)'],
    [['--nmi-port'], "option '--nmi-port <value>' argument missing"],
    [
      ['--operation-mode=cluster'],
      '--operation-mode: must be one of standard, managed, got "cluster"',
    ],
    [['--operation-mode=managed'], 'managed mode requires --forceNamespaced (as in the original)'],
    [
      ['--block-instance-metadata=maybe'],
      '--block-instance-metadata: invalid boolean "maybe" (expected true or false)',
    ],
    [['stray'], 'too many arguments. Expected 0 arguments but got 1: stray.'],
    [['--nmi-port=70000'], '--nmi-port: invalid value "70000" (expected an integer 0…65535)'],
    [
      ['--retry-attempts-for-created=-1'],
      '--retry-attempts-for-created: invalid value "-1" (expected an integer 0…2147483647)',
    ],
  ])('refuses %j', (args, error) => {
    expect(parseNmiFlags(args, { NODE_NAME: 'n' })).toEqual({ ok: false, error });
  });

  it('requires a node', () => {
    expect(parseNmiFlags([], {})).toEqual({
      ok: false,
      error: '--node (or $NODE_NAME) is required',
    });
  });
});

describe('isKubenet', () => {
  it('spots kubenet in the kubelet defaults', () => {
    expect(isKubenet('KUBELET_FLAGS=--a=b --network-plugin=kubenet --c')).toBe(true);
    expect(isKubenet('KUBELET_FLAGS=--network-plugin=cni')).toBe(false);
    expect(isKubenet('')).toBe(false);
  });
});
