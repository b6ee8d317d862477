package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/spf13/pflag"
)

// deployDir is the sample deployment (docs/deploy/README.md).
const deployDir = "../../docs/deploy"

// TestDeployFiles checks the sample deployment against what it claims and
// what the code reads: the NATS configurations parse (with nats-server's
// own parser) into a 3-node JetStream cluster that fsyncs every write and
// serves /varz; every variable of the environment file is one that serve
// reads, and sets its flag to the value written; the unit's command line
// parses.
func TestDeployFiles(t *testing.T) {
	for i := 1; i <= 3; i++ {
		path := filepath.Join(deployDir, "nats", fmt.Sprintf("nats-%d.conf", i))
		opts, err := server.ProcessConfigFile(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if opts.ServerName != fmt.Sprintf("n%d", i) || !opts.JetStream || !opts.SyncAlways || opts.HTTPPort != 8222 ||
			opts.Cluster.Name != "partyledger" || len(opts.Routes) != 3 {
			t.Errorf("%s: server %q, jetstream %v, sync always %v, monitoring port %d, cluster %q with %d routes; want n%d, a JetStream cluster partyledger of 3 that fsyncs every write, monitoring on 8222",
				path, opts.ServerName, opts.JetStream, opts.SyncAlways, opts.HTTPPort, opts.Cluster.Name, len(opts.Routes), i)
		}
	}

	env := readEnvFile(t, filepath.Join(deployDir, "partyledger", "partyledger.env"))
	for k, v := range env {
		t.Setenv(k, v)
	}
	cmd := newServeCmd() // flag defaults come from the environment
	for k, v := range env {
		var flag *pflag.Flag
		cmd.Flags().VisitAll(func(f *pflag.Flag) {
			if strings.Contains(f.Usage, "(env "+k+")") || strings.Contains(f.Usage, "(env "+k+";") {
				flag = f
			}
		})
		if flag == nil {
			t.Errorf("partyledger.env sets %s, which no serve flag reads", k)
			continue
		}
		if got := flag.Value.String(); got != v {
			t.Errorf("partyledger.env sets %s=%s, but --%s is %q", k, v, flag.Name, got)
		}
	}
	for _, want := range []string{"PARTYLEDGER_STORE", "PARTYLEDGER_NATS_URL", "PARTYLEDGER_NATS_DURABILITY", "PARTYLEDGER_NATS_MONITOR", "PARTYLEDGER_DB"} {
		if _, ok := env[want]; !ok {
			t.Errorf("partyledger.env does not set %s", want)
		}
	}
	if env["PARTYLEDGER_STORE"] != "nats" || env["PARTYLEDGER_NATS_DURABILITY"] != "ha" {
		t.Errorf("partyledger.env: store %q, durability %q; want nats, ha", env["PARTYLEDGER_STORE"], env["PARTYLEDGER_NATS_DURABILITY"])
	}

	unit, err := os.ReadFile(filepath.Join(deployDir, "partyledger", "partyledger.service"))
	if err != nil {
		t.Fatal(err)
	}
	var exec string
	for _, line := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(line, "ExecStart="); ok {
			exec = v
		}
	}
	args := strings.Fields(exec)
	if len(args) < 2 || filepath.Base(args[0]) != "partyledger" || args[1] != "serve" {
		t.Fatalf("partyledger.service: ExecStart=%s, want partyledger serve ...", exec)
	}
	if err := newServeCmd().ParseFlags(args[2:]); err != nil {
		t.Errorf("partyledger.service: ExecStart flags: %v", err)
	}
}

// readEnvFile reads a systemd environment file: KEY=VALUE lines, # comments.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	env := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not KEY=VALUE", path, line)
		}
		env[k] = v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return env
}
