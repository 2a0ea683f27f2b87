// Java's azure-identity (compiled against Maven Central's artifacts, cached outside the repository)
// in its own process, pointed at NMI as a pod's application would be: the SDK (MSAL Java) takes IMDS's
// address from AZURE_POD_IDENTITY_AUTHORITY_HOST, and the program's HTTP client sends from the pod's
// address to NMI only (test-support/sdk/java).
import {
  JAVA_AZURE_IDENTITY_VERSION,
  javaProgram,
  runSdkProgram,
} from '@pod-identity/test-support/sdk-runtimes';
import { expect } from 'vitest';
import { describeSdkProgram } from './describe-sdk-program.js';

describeSdkProgram({
  title: `Java azure-identity ${JAVA_AZURE_IDENTITY_VERSION} against NMI`,
  prepare: () => javaProgram(),
  prepareTimeoutMs: 1_200_000,
  getToken: (program, fixture, scope, clientId) =>
    runSdkProgram(program, [scope, clientId], {
      AZURE_POD_IDENTITY_AUTHORITY_HOST: fixture.nmi.url,
      POD_IP: fixture.podIp,
    }),
  checkRefusal: (failure) => {
    // The application's exception says "see inner exception"; its cause carries NMI's answer.
    expect(failure.type).toBe('ClientAuthenticationException');
    expect(failure.causes).toContain('has not been assigned to this resource');
    expect(failure.causes).toContain('Identity not found');
    expect(failure.causes).toContain('pod default/sdk');
  },
});
