// A pod's application using azure-identity's ManagedIdentityCredential, as it would on a VM.
//
// The SDK (through MSAL Java) reads IMDS's address from AZURE_POD_IDENTITY_AUTHORITY_HOST, which the
// test points at NMI. Its connections leave from the pod's address (POD_IP), as the node's iptables
// redirect would deliver them, through an HTTP client that refuses every destination but NMI's, so
// nothing is ever sent to the real metadata address or anywhere else.
//
// Prints one JSON line: {"ok":true,"token":...,"expiresOn":...} or
// {"ok":false,"type":...,"message":...,"causes":...} (the error the application would see, and the
// messages of its causes, one a line), with "elapsedMs", the time getToken took.
package podidentity;

import com.azure.core.credential.AccessToken;
import com.azure.core.credential.TokenRequestContext;
import com.azure.core.http.HttpClient;
import com.azure.core.http.netty.NettyAsyncHttpClientBuilder;
import com.azure.identity.ManagedIdentityCredential;
import com.azure.identity.ManagedIdentityCredentialBuilder;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import reactor.core.publisher.Mono;

public final class SdkJava {
  private SdkJava() {}

  /** Sends only to NMI's host and port, from the pod's address. */
  static HttpClient podClient(URI nmi, String podIp) {
    HttpClient netty =
        new NettyAsyncHttpClientBuilder(
                reactor.netty.http.client.HttpClient.create()
                    .bindAddress(() -> new InetSocketAddress(podIp, 0)))
            .build();
    return request -> {
      URI target;
      try {
        target = request.getUrl().toURI();
      } catch (Exception e) {
        return Mono.error(e);
      }
      if (!nmi.getHost().equals(target.getHost()) || nmi.getPort() != target.getPort()) {
        return Mono.error(
            new IOException("refusing to send to " + target + ": only NMI is reachable"));
      }
      return netty.send(request);
    };
  }

  static String json(String text) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
          else out.append(c);
        }
      }
    }
    return out.append('"').toString();
  }

  /** The messages of the exception's causes, as an application that logs it would see them. */
  static String causes(Throwable error) {
    StringBuilder out = new StringBuilder();
    for (Throwable cause = error.getCause(); cause != null; cause = cause.getCause()) {
      if (out.length() > 0) out.append('\n');
      out.append(cause.getClass().getSimpleName()).append(": ").append(cause.getMessage());
      if (cause.getCause() == cause) break;
    }
    return out.toString();
  }

  public static void main(String[] args) {
    if (args.length < 1) {
      System.err.println("usage: SdkJava <scope> [client-id]");
      System.exit(2);
    }
    URI nmi = URI.create(System.getenv("AZURE_POD_IDENTITY_AUTHORITY_HOST"));
    HttpClient client = podClient(nmi, System.getenv("POD_IP"));
    TokenRequestContext request = new TokenRequestContext().addScopes(args[0]);
    // SDK_WARM_UP_CLIENT_ID: one token for that identity first, untimed, so "elapsedMs" is the call's
    // own and not the JVM's first load of the SDK's classes.
    String warmUp = System.getenv("SDK_WARM_UP_CLIENT_ID");
    if (warmUp != null && !warmUp.isEmpty()) {
      new ManagedIdentityCredentialBuilder()
          .httpClient(client)
          .clientId(warmUp)
          .build()
          .getToken(request)
          .block(Duration.ofMinutes(3));
    }
    ManagedIdentityCredentialBuilder builder = new ManagedIdentityCredentialBuilder().httpClient(client);
    if (args.length > 1 && !args[1].isEmpty()) builder.clientId(args[1]);
    ManagedIdentityCredential credential = builder.build();
    long started = System.nanoTime();
    String line;
    try {
      AccessToken token = credential.getToken(request).block(Duration.ofMinutes(3));
      long elapsedMs = (System.nanoTime() - started) / 1_000_000;
      line =
          "{\"ok\":true,\"token\":"
              + json(token.getToken())
              + ",\"expiresOn\":"
              + token.getExpiresAt().toEpochSecond()
              + ",\"elapsedMs\":"
              + elapsedMs
              + "}";
    } catch (RuntimeException e) {
      long elapsedMs = (System.nanoTime() - started) / 1_000_000;
      line =
          "{\"ok\":false,\"type\":"
              + json(e.getClass().getSimpleName())
              + ",\"message\":"
              + json(String.valueOf(e.getMessage()))
              + ",\"causes\":"
              + json(causes(e))
              + ",\"elapsedMs\":"
              + elapsedMs
              + "}";
    }
    System.out.println(line);
    System.exit(0);
  }
}
