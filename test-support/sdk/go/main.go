// A pod's application using azidentity's ManagedIdentityCredential, as it would on a VM.
//
// azidentity ignores AZURE_POD_IDENTITY_AUTHORITY_HOST and always dials 169.254.169.254:80. This
// program gives it a transport that dials NMI instead (NMI_ADDRESS), from the pod's address
// (POD_IP), as the node's iptables redirect would deliver the connection; any other destination is
// refused, so nothing is ever sent to the real metadata address or anywhere else.
//
// Prints one JSON line: {"ok":true,"token":...,"expiresOn":...} or
// {"ok":false,"type":...,"message":...} (the error the application would see), with "elapsedMs",
// the time GetToken took.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

const metadataAddress = "169.254.169.254:80"

func redirectingClient(nmiAddress, podIP string) *http.Client {
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(podIP)}, Timeout: 5 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, address string) (net.Conn, error) {
			if address != metadataAddress {
				return nil, fmt.Errorf("refusing to dial %s: only the metadata address is redirected", address)
			}
			return dialer.DialContext(ctx, network, nmiAddress)
		},
	}}
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sdk-go <scope> [client-id]")
		os.Exit(2)
	}
	options := &azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: azcore.ClientOptions{
			Transport: redirectingClient(os.Getenv("NMI_ADDRESS"), os.Getenv("POD_IP")),
		},
	}
	if len(os.Args) > 2 && os.Args[2] != "" {
		options.ID = azidentity.ClientID(os.Args[2])
	}
	out := json.NewEncoder(os.Stdout)
	credential, err := azidentity.NewManagedIdentityCredential(options)
	if err != nil {
		_ = out.Encode(map[string]any{"ok": false, "type": fmt.Sprintf("%T", err), "message": err.Error()})
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	started := time.Now()
	token, err := credential.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{os.Args[1]}})
	elapsedMs := time.Since(started).Milliseconds()
	if err != nil {
		kind := fmt.Sprintf("%T", err)
		var failed *azidentity.AuthenticationFailedError
		if errors.As(err, &failed) {
			kind = "AuthenticationFailedError"
		}
		_ = out.Encode(map[string]any{"ok": false, "type": kind, "message": err.Error(), "elapsedMs": elapsedMs})
		return
	}
	_ = out.Encode(map[string]any{"ok": true, "token": token.Token, "expiresOn": token.ExpiresOn.Unix(), "elapsedMs": elapsedMs})
}
