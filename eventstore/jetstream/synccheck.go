package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// VarzSyncCheck returns a [SyncCheck] that asks each server's monitoring
// endpoint (http://host:8222, the server's http_port) for /varz and
// requires jetstream.config.sync_always on every one of them. List every
// server that stores the stream: one that fsyncs only every few minutes
// can lose acknowledged events when it loses power. A nil client means
// one with a 5 s timeout.
func VarzSyncCheck(monitorURLs []string, client *http.Client) SyncCheck {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	return func(ctx context.Context) error {
		if len(monitorURLs) == 0 {
			return errors.New("no monitoring URLs to check the servers' fsync policy with")
		}
		var errs []error
		for _, u := range monitorURLs {
			if err := checkVarz(ctx, client, strings.TrimSuffix(u, "/")+"/varz"); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}
}

func checkVarz(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %s", url, resp.Status)
	}
	var varz struct {
		ServerName string `json:"server_name"`
		JetStream  struct {
			Config *struct {
				SyncAlways   bool          `json:"sync_always"`
				SyncInterval time.Duration `json:"sync_interval"`
			} `json:"config"`
		} `json:"jetstream"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&varz); err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	switch c := varz.JetStream.Config; {
	case c == nil:
		return fmt.Errorf("server %s (%s): JetStream is not enabled", varz.ServerName, url)
	case !c.SyncAlways:
		interval := "the default (2m)"
		if c.SyncInterval > 0 {
			interval = c.SyncInterval.String()
		}
		return fmt.Errorf("server %s (%s): sync_interval is %s, not always", varz.ServerName, url, interval)
	}
	return nil
}
