import type * as ClientNode from '@kubernetes/client-node';

/** `@kubernetes/client-node`'s module. */
export type ClientNodeModule = typeof ClientNode;

let loading: Promise<ClientNodeModule> | undefined;

/**
 * Loads `@kubernetes/client-node` when an adapter first calls the API, not when this package is
 * imported: its generated models cost a process about 80 MB and a second of start-up, which NMI
 * (whose informers and events use the lean client) never pays.
 */
export function loadClientNode(): Promise<ClientNodeModule> {
  loading ??= import('@kubernetes/client-node');
  return loading;
}

/**
 * Builds an API client of a loaded client-node when first needed; a failed load is reported to
 * each caller, not as an unhandled rejection.
 * @param make - builds the client from the module
 */
export function lazyClientNode<T>(make: (module: ClientNodeModule) => T): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    made ??= loadClientNode().then(make);
    return made;
  };
}
