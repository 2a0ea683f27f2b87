/**
 * Compaction of a real API server's etcd, for the contract tests' `compact()` when they target a
 * real kube-apiserver (the conformance tier sets `POD_IDENTITY_ETCD_URL`; see docs/conformance.md).
 */

async function post(
  etcdUrl: string,
  path: string,
  body: unknown,
): Promise<{ header?: { revision?: string } }> {
  const res = await fetch(`${etcdUrl}${path}`, { method: 'POST', body: JSON.stringify(body) });
  if (!res.ok) throw new Error(`etcd ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as { header?: { revision?: string } };
}

/**
 * Makes every resourceVersion the API server has handed out 410 Gone, through the etcd v3 HTTP
 * gateway: writes a scratch key outside kube-apiserver's `/registry/` prefix, then compacts
 * (physically) at that write's revision. Compacting at the last object's own revision instead would
 * make a watch from the revision just before it fail with 500 "etcd event received with PrevKv=nil".
 * @param etcdUrl - etcd's client URL, e.g. `http://127.0.0.1:2379`
 */
export async function compactEtcd(etcdUrl: string): Promise<void> {
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  const put = await post(etcdUrl, '/v3/kv/put', {
    key: b64('/pod-identity-conformance/compaction'),
    value: b64(new Date().toISOString()),
  });
  const revision = put.header?.revision;
  if (revision === undefined) throw new Error(`etcd returned no revision: ${JSON.stringify(put)}`);
  await post(etcdUrl, '/v3/kv/compaction', { revision, physical: true });
}
