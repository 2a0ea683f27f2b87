// Default imports are the modules' live export objects: a namespace import would copy `request` at
// load time, and HTTP mocking tools that patch `http.request` (msw, nock) would not see our calls.
import http from 'node:http';
import https from 'node:https';
import { abortReason } from '@pod-identity/core';

/** One answer from a metadata endpoint. */
export interface MetadataResponse {
  /** The HTTP status code. */
  status: number;
  /** Response headers, names lower-case. */
  headers: http.IncomingHttpHeaders;
  /** The body as text (at most {@link MAX_METADATA_BODY_BYTES}). */
  body: string;
}

/** Options of {@link sendMetadataRequest}. */
export interface SendMetadataRequestOptions {
  /** Aborts the request; the promise then rejects with the signal's reason. */
  abortSignal?: AbortSignal;
  /** Local (source) address to bind: NMI tells pods apart by source IP. */
  localAddress?: string;
}

/** Largest body read from a metadata endpoint; a token answer is a few kilobytes. */
export const MAX_METADATA_BODY_BYTES = 1024 * 1024;

/**
 * Sends `GET url` with `Metadata: true`, the header IMDS (and NMI) require as an SSRF guard.
 * Redirects are not followed: IMDS never redirects, and following one could send the request
 * (and later the token) somewhere else.
 *
 * @param url - the full URL, `http:` or `https:`
 * @param options - abort signal and source address
 */
export function sendMetadataRequest(
  url: URL,
  options: SendMetadataRequestOptions = {},
): Promise<MetadataResponse> {
  const { abortSignal, localAddress } = options;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(
      new TypeError(`metadata endpoint must be http or https, got ${url.protocol}`),
    );
  }
  if (abortSignal?.aborted) return Promise.reject(abortReason(abortSignal));
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<MetadataResponse>((resolve, reject) => {
    const request = transport.request(
      url,
      {
        method: 'GET',
        headers: { Metadata: 'true', Accept: 'application/json' },
        ...(localAddress === undefined ? {} : { localAddress }),
        ...(abortSignal === undefined ? {} : { signal: abortSignal }),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_METADATA_BODY_BYTES) {
            response.destroy(
              new Error(`metadata response larger than ${MAX_METADATA_BODY_BYTES} bytes`),
            );
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', (error: Error) => {
          reject(abortSignal?.aborted ? abortReason(abortSignal) : error);
        });
        response.on('end', () => {
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      },
    );
    request.on('error', (error: Error) => {
      reject(abortSignal?.aborted ? abortReason(abortSignal) : error);
    });
    request.end();
  });
}
