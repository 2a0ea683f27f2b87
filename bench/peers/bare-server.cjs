// The ceiling of bench/peers: a bare node:http server answering every request with a fixed
// token-sized JSON body, as NMI answers a cached token. CommonJS, as a bundled daemon would load.
'use strict';
const http = require('node:http');

const body = JSON.stringify({
  access_token: 'x'.repeat(1200),
  refresh_token: '',
  expires_in: '86399',
  expires_on: String(Math.floor(Date.now() / 1000) + 86_399),
  not_before: String(Math.floor(Date.now() / 1000)),
  resource: 'https://management.azure.com/',
  token_type: 'Bearer',
});
const server = http.createServer({ keepAliveTimeout: 65_000 }, (_request, response) => {
  response
    .writeHead(200, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    })
    .end(body);
});
server.listen(Number(process.argv[2]), process.argv[3] ?? '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
