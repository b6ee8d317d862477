package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/pflag"

	"github.com/partyledger/partyledger/handlers/httpapi/client"
)

// apiClient holds the flags of a command that calls a running server
// (--url, --token) and makes the typed client from them.
type apiClient struct {
	url, token string
}

func (c *apiClient) register(fs *pflag.FlagSet) {
	fs.StringVar(&c.url, "url", envOr(envURL, "http://127.0.0.1:8080"),
		"the server, as its root (http://host:8080) or its API root (.../api/v1) (env "+envURL+")")
	fs.StringVar(&c.token, "token", envOr(envToken, ""), "API token (env "+envToken+")")
}

// apiTransport, when not nil, carries the CLI's API requests: the tests
// set it to validate every exchange against the OpenAPI document.
var apiTransport http.RoundTripper

// client returns the API client of the flags, or an error naming the flag
// to fix.
func (c *apiClient) client() (*client.Client, error) {
	if c.token == "" {
		return nil, fmt.Errorf("a token is required: --token or %s", envToken)
	}
	cl, err := client.New(c.url, c.token)
	if err != nil {
		return nil, fmt.Errorf("--url: %w", err)
	}
	if apiTransport != nil {
		cl.HTTP = &http.Client{Transport: apiTransport, Timeout: time.Minute}
	}
	return cl, nil
}

// do sends a request to path (under /api/v1) and decodes a 2xx JSON answer
// into out (if not nil); a problem answer is a *client.Error.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	_, err = cl.Do(ctx, method, path, body, out)
	return err
}
