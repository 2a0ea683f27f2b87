import http from 'node:http';

/** Options of {@link readInstanceMetadata}. */
export interface ReadInstanceMetadataOptions {
  /** Source address of the request (the pod IP in the sandbox, where every pod shares one host). */
  localAddress?: string;
  /** Cancels the request. */
  abortSignal?: AbortSignal;
}

/**
 * Reads the instance metadata (`GET /metadata/instance` with `Metadata: true`) from IMDS, which NMI
 * passes through on a pod-identity node.
 *
 * @param endpoint - the IMDS (or NMI) origin
 * @param options - source address, abort signal
 * @returns the status and body of the answer
 */
export function readInstanceMetadata(
  endpoint: URL,
  options: ReadInstanceMetadataOptions = {},
): Promise<{ status: number; body: string }> {
  const url = new URL('/metadata/instance', endpoint);
  url.searchParams.set('api-version', '2021-02-01');
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        headers: { Metadata: 'true' },
        ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
        ...(options.abortSignal === undefined ? {} : { signal: options.abortSignal }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', reject);
        response.on('end', () => {
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    request.on('error', reject);
    request.end();
  });
}
