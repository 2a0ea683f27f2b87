// Python's azure-identity (from PyPI, in a virtual environment cached outside the repository) in its
// own process, pointed at NMI as a pod's application would be: the bound identity's token, and a
// refusal that ends on NMI's first answer with NMI's reason in the exception.
import {
  PYTHON_AZURE_IDENTITY_VERSION,
  PYTHON_TOKEN_SCRIPT,
  pythonWithAzureIdentity,
  runSdkProgram,
} from '@pod-identity/test-support/sdk-runtimes';
import { expect } from 'vitest';
import { describeSdkProgram } from './describe-sdk-program.js';

describeSdkProgram({
  title: `Python azure-identity ${PYTHON_AZURE_IDENTITY_VERSION} against NMI`,
  prepare: () => pythonWithAzureIdentity(),
  prepareTimeoutMs: 900_000,
  getToken: (python, fixture, scope, clientId) =>
    runSdkProgram(python, [PYTHON_TOKEN_SCRIPT, scope, clientId], {
      AZURE_POD_IDENTITY_AUTHORITY_HOST: fixture.nmi.url,
      POD_IP: fixture.podIp,
    }),
  checkRefusal: (failure) => {
    // What a DefaultAzureCredential chain reads as "not this credential", as for IMDS's own 400.
    expect(failure.type).toBe('CredentialUnavailableError');
    expect(failure.message).toContain('Identity not found');
    expect(failure.message).toContain('pod default/sdk');
    expect(failure.message).toContain('aadpodidbinding=sdk');
  },
});
