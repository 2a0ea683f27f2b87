// A MIC that starts while part of its view is still being listed (a restart while the API server is
// slow or coming back from an outage) must not plan from the part it has: a pass that sees the
// records, identities and nodes but not yet the pods would remove every identity MIC owns.
import {
  createServer,
  request,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { ArmOperation } from '@pod-identity/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { startHarness, waitFor, type Harness } from './mic-harness.js';

/**
 * An HTTP proxy in front of the Kubernetes emulator that holds the pod lists (not the watches) until
 * released, and remembers which collections were watched.
 */
interface ListGate {
  readonly url: string;
  readonly watched: Set<string>;
  release(): void;
  close(): Promise<void>;
}

async function startListGate(upstream: string, held: string): Promise<ListGate> {
  const target = new URL(upstream);
  const watched = new Set<string>();
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const forward = (incoming: IncomingMessage, outgoing: ServerResponse): void => {
    const upstreamRequest = request(
      {
        hostname: target.hostname,
        port: target.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (response) => {
        outgoing.writeHead(response.statusCode ?? 502, response.headers);
        response.pipe(outgoing);
      },
    );
    upstreamRequest.on('error', () => outgoing.destroy());
    outgoing.on('close', () => upstreamRequest.destroy());
    incoming.pipe(upstreamRequest);
  };
  const server: Server = createServer((incoming, outgoing) => {
    const url = new URL(incoming.url ?? '/', 'http://proxy');
    const isWatch = url.searchParams.get('watch') === 'true' || url.pathname.includes('/watch/');
    if (isWatch) watched.add(url.pathname);
    if (!isWatch && incoming.method === 'GET' && url.pathname === held) {
      void released.then(() => {
        forward(incoming, outgoing);
      });
      return;
    }
    forward(incoming, outgoing);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    watched,
    release,
    async close() {
      release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

let h: Harness | undefined;
let gate: ListGate | undefined;
afterEach(async () => {
  await h?.stop();
  await gate?.close();
  h = undefined;
  gate = undefined;
});

describe('MIC restarted while its view is incomplete', () => {
  it('plans nothing until every informer has listed, so it never removes what it owns on the way', async () => {
    h = await startHarness();
    const node = h.sandbox.nodes[0]!;
    const id = h.identity('kept');
    h.binding('kept-binding', 'kept', 'kept');
    h.pod('kept-pod', node.name, 'kept');
    const first = h.startMic();
    await waitFor(
      () => h!.record('kept-pod-default-kept')?.status?.status === 'Assigned',
      'the record Assigned',
    );
    expect(h.idsOn(node.identityTargetId)).toEqual([id.resourceId.toLowerCase()]);
    await first.stop();
    const patchesBefore = h.sandbox.arm.countRequests({ operation: ArmOperation.ScaleSetUpdate });

    // The restarted MIC gets its ledger, nodes, identities, bindings and records at once; the pods
    // come only once released.
    gate = await startListGate(h.sandbox.endpoints.kubernetes, '/api/v1/pods');
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(
      h.sandbox.kubeconfigYaml.replaceAll(h.sandbox.endpoints.kubernetes, gate.url),
    );
    const restarted = h.startMic({ kubeConfig });
    const others = [
      '/api/v1/nodes',
      '/apis/aadpodidentity.k8s.io/v1/azureidentities',
      '/apis/aadpodidentity.k8s.io/v1/azureidentitybindings',
      '/apis/aadpodidentity.k8s.io/v1/azureassignedidentities',
    ];
    await waitFor(() => others.every((path) => gate!.watched.has(path)), 'the other watches');
    // Whatever their list events asked for has run (a pass and its lanes) by now.
    await restarted.settled();
    expect(restarted.isActive()).toBe(false);

    gate.release();
    await restarted.whenActive();
    await restarted.settled();
    expect(h.idsOn(node.identityTargetId)).toEqual([id.resourceId.toLowerCase()]);
    expect(h.sandbox.arm.countRequests({ operation: ArmOperation.ScaleSetUpdate })).toBe(
      patchesBefore,
    );
  });
});
