// Builds the real Azure SDKs the NMI tests run (a Python virtual environment with azure-identity from
// PyPI, a Go program built against azidentity from the Go module proxy, a Java program compiled
// against azure-identity from Maven Central) into the cache
// (~/.cache/pod-identity/sdk, or $POD_IDENTITY_CACHE/sdk), so `pnpm test` finds them ready. A no-op
// when they are there.
import {
  GO_TOKEN_SOURCES,
  JAVA_TOKEN_SOURCES,
  goProgram,
  javaProgram,
  pythonWithAzureIdentity,
} from './sdk-runtimes.ts';

const started = Date.now();
const [python, go, java] = await Promise.all([
  pythonWithAzureIdentity(),
  goProgram(GO_TOKEN_SOURCES),
  javaProgram(JAVA_TOKEN_SOURCES),
]);
console.log(`python: ${python}`);
console.log(`go: ${go}`);
console.log(`java: ${java}`);
console.log(`ready in ${String(Math.round((Date.now() - started) / 1000))} s`);
