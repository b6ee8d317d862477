package main

import (
	"strings"
	"testing"
	"time"
)

func TestRetentionFlag(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "1d": 24 * time.Hour, "720h": 720 * time.Hour, "90m": 90 * time.Minute} {
		var v retentionValue
		if err := v.Set(in); err != nil || time.Duration(v) != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, time.Duration(v), err, want)
		}
	}
	for _, bad := range []string{"", "0d", "-1d", "x", "1.5d", "-5h"} {
		var v retentionValue
		if err := v.Set(bad); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
	// serve documents both flags, with the 90-day default.
	var out, errOut strings.Builder
	root := newRootCmd(&out, &errOut)
	root.SetArgs([]string{"serve", "--help"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "--access-log-retention duration") || !strings.Contains(out.String(), "(default 90d)") ||
		!strings.Contains(out.String(), "--trusted-proxy") {
		t.Fatalf("serve --help:\n%s", out.String())
	}
}
