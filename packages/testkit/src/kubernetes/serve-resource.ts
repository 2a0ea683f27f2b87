import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiServer } from './api-server.js';
import { readBody, sendJson, warningHeaders, writeOptions } from './emulator-http.js';
import type { KubernetesVerb } from './kubernetes-faults.js';
import type { OpenWatches } from './open-watches.js';
import { deleteParams, intParam, listParams, watchFieldSelector } from './request-parameters.js';
import type { ResourceRoute } from './request-route.js';
import { prepareWatch, type ResourceWatch } from './resource-watch.js';

/** What {@link serveResource} serves from. */
export interface ResourceServing {
  readonly api: ApiServer;
  readonly watches: OpenWatches;
  readonly bookmarkIntervalMs: number;
}

const maxWatchBufferBytes = 64 * 1024 * 1024;

/** Streams a watch's events as JSON lines until it ends or the client goes. */
function serveWatch(
  serving: ResourceServing,
  res: ServerResponse,
  r: ResourceRoute,
  query: URLSearchParams,
): void {
  const start = prepareWatch(
    serving.api,
    r.def,
    r.namespace,
    {
      labelSelector: query.get('labelSelector') ?? undefined,
      fieldSelector: watchFieldSelector(query.get('fieldSelector'), r.name),
      resourceVersion: query.get('resourceVersion') ?? undefined,
      allowWatchBookmarks: query.get('allowWatchBookmarks') === 'true',
      timeoutSeconds: intParam(query, 'timeoutSeconds'),
    },
    { bookmarkIntervalMs: serving.bookmarkIntervalMs },
  );
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();
  // The stream may end while `start` runs (a 410 ERROR event), before `watch` exists.
  const stream: { ended: boolean; watch?: ResourceWatch } = { ended: false };
  const watch = start({
    write: (line) => {
      if (stream.ended) return;
      res.write(`${line}\n`);
      // Like kube's cacher, give up on a watcher that does not read: end its stream so that it
      // reconnects (from its last resourceVersion) instead of buffering without bound.
      if (res.writableLength > maxWatchBufferBytes) stream.watch?.stop();
    },
    end: () => {
      if (stream.ended) return;
      stream.ended = true;
      if (stream.watch !== undefined) serving.watches.remove(stream.watch);
      res.end();
    },
  });
  stream.watch = watch;
  if (!stream.ended) {
    serving.watches.add(watch, res);
    res.on('close', () => {
      watch.stop();
    });
  }
}

/** Serves one verb on a resource route through the {@link ApiServer}. */
export async function serveResource(
  serving: ResourceServing,
  req: IncomingMessage,
  res: ServerResponse,
  r: ResourceRoute,
  verb: KubernetesVerb,
  query: URLSearchParams,
): Promise<void> {
  const { api } = serving;
  const { def } = r;
  const namespace = r.namespace ?? '';
  const name = r.name ?? '';
  switch (verb) {
    case 'get':
      sendJson(res, 200, api.get(def, namespace, name));
      return;
    case 'list':
      sendJson(res, 200, api.list(def, r.namespace, listParams(query)));
      return;
    case 'watch':
      serveWatch(serving, res, r, query);
      return;
    case 'create': {
      const write = writeOptions(query, 'CreateOptions');
      const body = await readBody(req);
      const created = api.create(def, r.namespace, body, write);
      sendJson(res, 201, created, warningHeaders(write.warnings));
      return;
    }
    case 'update': {
      const write = writeOptions(query, 'UpdateOptions');
      const body = await readBody(req);
      const updated = api.update(def, namespace, name, body, r.subresource, write);
      sendJson(res, 200, updated, warningHeaders(write.warnings));
      return;
    }
    case 'patch': {
      const write = writeOptions(query, 'PatchOptions');
      const body = await readBody(req);
      const contentType = req.headers['content-type'];
      const patched = api.patch(def, namespace, name, contentType, body, r.subresource, write);
      sendJson(res, 200, patched, warningHeaders(write.warnings));
      return;
    }
    case 'delete': {
      const body = await readBody(req);
      sendJson(res, 200, api.delete(def, namespace, name, deleteParams(query, body)));
      return;
    }
    case 'deletecollection': {
      const body = await readBody(req);
      sendJson(
        res,
        200,
        api.deleteCollection(def, r.namespace, listParams(query), deleteParams(query, body)),
      );
      return;
    }
  }
}
