/**
 * Azure adapters: the ARM identity assigner on `@azure/arm-compute`, token sources on
 * `@azure/identity`.
 *
 * @packageDocumentation
 */
export {};
