// Preloaded (`node --import`) into the daemons the tests start: binds every server that would listen
// on all interfaces to 127.0.0.1 instead. In a pod MIC and NMI listen on all interfaces so the kubelet
// can probe them; on this shared machine test servers listen on loopback only. Nothing else changes:
// the daemons still get exactly the chart's flags.
import { Server } from 'node:net';

type Listen = (this: Server, ...args: unknown[]) => Server;

const allInterfaces = new Set([undefined, '', '0.0.0.0', '::']);
// eslint-disable-next-line @typescript-eslint/unbound-method -- rebound with apply below
const listen = Server.prototype.listen as Listen;

(Server.prototype as unknown as { listen: Listen }).listen = function (
  this: Server,
  ...args: unknown[]
) {
  const [first, second] = args;
  if (typeof first === 'object' && first !== null && !('fd' in first) && !('path' in first)) {
    const options = first as { host?: string };
    if (allInterfaces.has(options.host)) args[0] = { ...options, host: '127.0.0.1' };
  } else if (args.length === 0) {
    args.push(0, '127.0.0.1');
  } else if (typeof first === 'number' || (typeof first === 'string' && /^\d+$/.test(first))) {
    if (typeof second === 'function' || second === undefined) {
      args.splice(1, 0, '127.0.0.1');
    } else if (typeof second === 'string' && allInterfaces.has(second)) {
      args[1] = '127.0.0.1';
    } else if (typeof second === 'number') {
      // listen(port, backlog, cb): no host given.
      args.splice(1, 0, '127.0.0.1');
    }
  }
  return listen.apply(this, args);
};
