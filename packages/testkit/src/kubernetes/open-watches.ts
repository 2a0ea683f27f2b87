import type { ServerResponse } from 'node:http';
import type { DropWatchesOptions } from './kubernetes-faults.js';
import type { ResourceWatch } from './resource-watch.js';

/** The watch streams the emulator has open, each with the response it writes to. */
export interface OpenWatches {
  add(watch: ResourceWatch, res: ServerResponse): void;
  remove(watch: ResourceWatch): void;
  readonly size: number;
  /** Ends the watches of one resource (`group/plural`), e.g. when its CRD goes. */
  stopResource(storageKey: string): void;
  /** Ends (or, `abrupt`, cuts) the watches a fault names; how many. */
  drop(drop?: DropWatchesOptions): number;
  stopAll(): void;
}

/** A registry of open watch streams. */
export function createOpenWatches(): OpenWatches {
  const watches = new Map<ResourceWatch, ServerResponse>();
  return {
    add: (watch, res) => {
      watches.set(watch, res);
    },
    remove: (watch) => {
      watches.delete(watch);
    },
    get size() {
      return watches.size;
    },
    stopResource(storageKey) {
      for (const watch of [...watches.keys()]) if (watch.storageKey === storageKey) watch.stop();
    },
    drop(drop = {}) {
      let count = 0;
      for (const [watch, res] of [...watches]) {
        const [group = '', plural = ''] = watch.storageKey.split('/');
        if (drop.resource !== undefined && drop.resource !== plural) continue;
        if (drop.group !== undefined && drop.group !== group) continue;
        count += 1;
        if (drop.abrupt === true) {
          watches.delete(watch);
          res.destroy();
        } else {
          watch.stop();
        }
      }
      return count;
    },
    stopAll() {
      for (const watch of [...watches.keys()]) watch.stop();
    },
  };
}
