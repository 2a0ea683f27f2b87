// Sizes and addresses shared by both processes of bench/nmi. Kept apart from the server module: importing
// that one starts its servers, which the load generator must not do.
export const POD_COUNT = 1000;
export const IDENTITY_COUNT = 200;
/** The loopback address pod `i` sends from (127.10.0.0/16). */
export const podIp = (i: number): string =>
  `127.10.${String(Math.floor(i / 250))}.${String((i % 250) + 1)}`;
