// Turns informer events into pass requests: what MIC's cluster view tells its pass scheduler.
import type { MicInformers } from './mic-informers.js';
import { podMatters, type PassScheduler } from './pass-scheduler.js';
import type { RecordWriter } from './record-writer.js';

/**
 * Wires an informer set to a pass scheduler as MIC does: pod changes that matter (see
 * {@link podMatters}) for scoped passes, node, identity and binding changes for full ones, record
 * changes for an unhurried full pass; a deleted record's `Assigned` mark is forgotten by the writer.
 *
 * @param informers - the informer set (not necessarily started)
 * @param scheduler - where the changes go
 * @param writer - forgets the marks of deleted records
 */
export function watchForPasses(
  informers: Pick<MicInformers, 'pods' | 'nodes' | 'identities' | 'bindings' | 'assigned'>,
  scheduler: PassScheduler,
  writer: Pick<RecordWriter, 'forget'>,
): void {
  const { pods, nodes, identities, bindings, assigned } = informers;
  pods.on('add', (pod) => {
    scheduler.podChanged(pod, undefined);
  });
  pods.on('update', (pod, old) => {
    if (podMatters(pod, old)) scheduler.podChanged(pod, old);
  });
  pods.on('delete', (pod) => {
    scheduler.podChanged(pod, undefined);
  });
  nodes.on('add', scheduler.requestFull);
  nodes.on('update', (node, old) => {
    if (old?.providerId !== node.providerId) scheduler.requestFull();
  });
  nodes.on('delete', scheduler.requestFull);
  for (const informer of [identities, bindings]) {
    informer.on('add', scheduler.requestFull);
    informer.on('update', scheduler.requestFull);
    informer.on('delete', scheduler.requestFull);
  }
  assigned.on('add', scheduler.recordChanged);
  assigned.on('update', scheduler.recordChanged);
  assigned.on('delete', (record) => {
    writer.forget(`${record.metadata.namespace ?? ''}/${record.metadata.name}`);
    scheduler.recordChanged();
  });
}
