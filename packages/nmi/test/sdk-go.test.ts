// Go's azidentity (built from the Go module proxy, the binary cached outside the repository) in its
// own process, pointed at NMI as a pod's application would be. azidentity always dials
// 169.254.169.254 for IMDS, so the program's transport dials NMI instead, from the pod's address,
// and refuses every other destination (test-support/sdk/go/main.go).
import { goProgram, runSdkProgram } from '@pod-identity/test-support/sdk-runtimes';
import { expect } from 'vitest';
import { describeSdkProgram } from './describe-sdk-program.js';

describeSdkProgram({
  title: 'Go azidentity 1.15 against NMI',
  prepare: () => goProgram(),
  prepareTimeoutMs: 1_200_000,
  getToken: (program, fixture, scope, clientId) => {
    const { hostname, port } = new URL(fixture.nmi.url);
    return runSdkProgram(program, [scope, clientId], {
      NMI_ADDRESS: `${hostname}:${port}`,
      POD_IP: fixture.podIp,
    });
  },
  checkRefusal: (failure) => {
    // azidentity's answer to IMDS's 400 for a user-assigned identity; its message prints the body.
    expect(failure.type).toBe('AuthenticationFailedError');
    expect(failure.message).toContain("the requested identity isn't assigned to this resource");
    expect(failure.message).toContain('Identity not found');
    expect(failure.message).toContain('pod default/sdk');
  },
});
