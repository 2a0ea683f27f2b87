/**
 * The few DER (ASN.1 Distinguished Encoding Rules) building blocks an X.509 v3 certificate needs.
 * Kept private to the TLS module: it encodes only what {@link issueCertificate} writes.
 *
 * @internal
 */

/** Encodes one tag-length-value triple with a definite, minimal length (DER). */
export function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  const length = body.length;
  let header: number[];
  if (length < 0x80) header = [tag, length];
  else if (length < 0x100) header = [tag, 0x81, length];
  else if (length < 0x10000) header = [tag, 0x82, length >> 8, length & 0xff];
  else header = [tag, 0x83, length >> 16, (length >> 8) & 0xff, length & 0xff];
  return Buffer.concat([Buffer.from(header), body]);
}

/** SEQUENCE of the given encoded elements. */
export const sequence = (...items: Uint8Array[]): Buffer => tlv(0x30, ...items);

/** SET of the given encoded elements (callers pass one element, so no sorting is needed). */
export const set = (...items: Uint8Array[]): Buffer => tlv(0x31, ...items);

/** BOOLEAN; DER requires 0xff for true. */
export const boolean = (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xff : 0x00]));

/** NULL. */
export const nullValue = (): Buffer => Buffer.from([0x05, 0x00]);

/** OCTET STRING. */
export const octetString = (value: Uint8Array): Buffer => tlv(0x04, value);

/** UTF8String. */
export const utf8String = (value: string): Buffer => tlv(0x0c, Buffer.from(value, 'utf8'));

/** BIT STRING with `unusedBits` trailing bits of the last byte unused. */
export const bitString = (value: Uint8Array, unusedBits = 0): Buffer =>
  tlv(0x03, Buffer.from([unusedBits]), value);

/** A context-specific constructed tag `[n]` wrapping already encoded content (EXPLICIT tagging). */
export const explicit = (n: number, ...content: Uint8Array[]): Buffer => tlv(0xa0 | n, ...content);

/** A context-specific primitive tag `[n]` with raw content (IMPLICIT tagging of a primitive). */
export const implicitPrimitive = (n: number, value: Uint8Array): Buffer => tlv(0x80 | n, value);

/** A non-negative INTEGER from big-endian magnitude bytes (a leading zero is added when the top bit is set). */
export function unsignedInteger(magnitude: Uint8Array): Buffer {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start += 1;
  const trimmed = Buffer.from(magnitude.subarray(start));
  const needsPad = (trimmed[0] ?? 0) & 0x80;
  return tlv(0x02, needsPad ? Buffer.concat([Buffer.from([0]), trimmed]) : trimmed);
}

/** A small non-negative INTEGER. */
export function smallInteger(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff)
    throw new RangeError(`integer out of range: ${value}`);
  return unsignedInteger(
    value > 0xff ? Buffer.from([value >> 8, value & 0xff]) : Buffer.from([value]),
  );
}

/** OBJECT IDENTIFIER from dotted notation. */
export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const [first, second, ...rest] = arcs;
  if (
    first === undefined ||
    second === undefined ||
    arcs.some((arc) => !Number.isInteger(arc) || arc < 0)
  ) {
    throw new TypeError(`invalid object identifier: ${dotted}`);
  }
  const bytes: number[] = [first * 40 + second];
  for (const arc of rest) {
    const chunk: number[] = [arc & 0x7f];
    let remaining = Math.floor(arc / 128);
    while (remaining > 0) {
      chunk.unshift((remaining & 0x7f) | 0x80);
      remaining = Math.floor(remaining / 128);
    }
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime before 2050 and GeneralizedTime from then on, as RFC 5280 §4.1.2.5 requires. */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // 2026-11-28T18:12:15.123Z
  const digits = iso.slice(0, 19).replace(/[-:T]/g, ''); // 20261128181215
  return date.getUTCFullYear() < 2050
    ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii'))
    : tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}
